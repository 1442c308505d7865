"""Never move an issue backwards because an older event arrived late: the jira-writer on a real
nats-server against the Jira simulator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from nats.aio.client import Client
from pdjira_common.contracts import IssueTransitioned, TransitionIssue, WriteSkipped, decode_command
from pdjira_common.times import iso_from_ms
from pdjira_jira_writer.main import JiraWriterService
from pdjira_mapping.main import MappingService
from support.writers import OutcomeWatcher

from .conftest import JiraSim, send
from .test_jira_writer_service import linked_issue, new_incident, transition

# Causes after the issue's last change (older ones lose to it: the last human change wins).
_SOON = datetime.now(UTC) + timedelta(minutes=5)
T1, T2, T3 = ((_SOON + timedelta(seconds=n)).isoformat() for n in (1, 2, 3))


def at(command: TransitionIssue, caused_at: str | None) -> TransitionIssue:
    return msgspec.structs.replace(command, caused_at=caused_at)


# ---------------------------------------------------------------- the pieces
# (the pure rule itself: tests/writer/test_write_order.py)


def test_jira_timestamp_as_iso() -> None:
    assert iso_from_ms(1565751753680) == "2019-08-14T03:02:33.680000+00:00"


def test_contracts_without_caused_at_still_decode() -> None:
    old = b'{"type":"jira.transition_issue.v1","command_id":"c","correlation_id":"e",'
    old += b'"incident":{"account":"a","incident_id":"P"},"instance":"dc1","target_status":"Done"}'
    command = decode_command(old)
    assert isinstance(command, TransitionIssue)
    assert command.caused_at is None


# ---------------------------------------------------------------- the writer


async def test_late_acknowledge_does_not_reopen_a_resolved_issue(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)
    resolve = at(transition(incident, "Done"), T2)
    await send(nc, resolve)
    assert isinstance(await outcomes.wait_for(resolve.command_id), IssueTransitioned)
    await jira_sim.clear_requests()

    late_ack = at(transition(incident, "In Progress"), T1)
    await send(nc, late_ack)

    outcome = await outcomes.wait_for(late_ack.command_id)
    assert isinstance(outcome, WriteSkipped)
    assert outcome.reason == (
        f"not moving {link.issue.key} to 'In Progress': older than the last change we wrote "
        f"({T1} < {T2}, which set 'Done' by command {resolve.command_id})"
    )
    assert (await jira_sim.issue(link.issue.key))["fields"]["status"]["name"] == "Done"
    assert await jira_sim.writes() == []


async def test_a_newer_acknowledge_moves_the_resolved_issue(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)
    resolve = at(transition(incident, "Done"), T2)
    await send(nc, resolve)
    assert isinstance(await outcomes.wait_for(resolve.command_id), IssueTransitioned)

    # The incident was reopened and acknowledged: the rule reopens (Done stays Done otherwise).
    ack = msgspec.structs.replace(at(transition(incident, "In Progress"), T3), reopen=True)
    await send(nc, ack)

    outcome = await outcomes.wait_for(ack.command_id)
    assert isinstance(outcome, IssueTransitioned)
    assert outcome.path == ("To Do", "In Progress")
    assert (await jira_sim.issue(link.issue.key))["fields"]["status"]["name"] == "In Progress"


async def test_the_order_survives_a_writer_restart(
    nc: Client,
    jira_sim: JiraSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
) -> None:
    incident = new_incident()
    async with start_writer():
        link = await linked_issue(nc, outcomes, incident)
        resolve = at(transition(incident, "Done"), T2)
        await send(nc, resolve)
        assert isinstance(await outcomes.wait_for(resolve.command_id), IssueTransitioned)
    async with start_writer():  # a new process: the record is in KV, not in memory
        late_ack = at(transition(incident, "In Progress"), T1)
        await send(nc, late_ack)
        outcome = await outcomes.wait_for(late_ack.command_id)
    assert isinstance(outcome, WriteSkipped)
    assert "older than the last change we wrote" in outcome.reason
    assert (await jira_sim.issue(link.issue.key))["fields"]["status"]["name"] == "Done"
