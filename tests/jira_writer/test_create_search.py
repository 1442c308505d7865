"""The label search before a create runs only when the create may have run before: a first
delivery creates with one Jira request; a redelivery, or a retry after a failed attempt,
searches first and adopts the issue it finds (one issue per incident)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nats.aio.client import Client
from pdjira_common.contracts import IssueLinked
from pdjira_devstack.waiting import wait_drained, wait_until
from pdjira_jira_writer.handlers import CONSUMER
from pdjira_jira_writer.main import JiraWriterService
from pdjira_mapping.main import MappingService
from support.writers import OutcomeWatcher

from .conftest import JIRA_USER, JiraSim, send, taken_by_a_dying_writer
from .test_jira_writer_service import create, label_of, new_incident

SEARCH = "/rest/api/2/search"
CREATE = "/rest/api/2/issue"


def calls(requests: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [(r["method"], r["path"], r["status"]) for r in requests]


async def warm_up(nc: Client, outcomes: OutcomeWatcher) -> None:
    """One create first: the writer lists the projects and issue types once (then cached)."""
    warm = create(new_incident())
    await send(nc, warm)
    assert isinstance(await outcomes.wait_for(warm.command_id), IssueLinked)
    await wait_drained(nc.jetstream(), timeout=10, consumers=[CONSUMER])


async def test_first_delivery_of_a_create_makes_one_jira_request(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    await warm_up(nc, outcomes)
    await jira_sim.clear_requests()
    incident = new_incident()
    command = create(incident)
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueLinked)
    assert outcome.created
    # No search first: nothing says this command ran before.
    assert calls(await jira_sim.requests()) == [("POST", CREATE, 201)]
    assert len(await jira_sim.issues(label_of(incident))) == 1


async def test_redelivered_create_searches_and_adopts_the_issue(
    nc: Client,
    jira_sim: JiraSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
) -> None:
    incident = new_incident()
    command = create(incident)
    await send(nc, command)
    # A writer took the command and died without acking, and without a record of the start
    # (say it expired): only the delivery count says the create may have run. It did.
    await taken_by_a_dying_writer(nc)
    existing = await jira_sim.create_issue(
        summary="Disk full on db-1", labels=[label_of(incident)], as_user=JIRA_USER
    )
    await jira_sim.clear_requests()

    async with start_writer(retry={"ack_wait": 2.0}):
        outcome = await outcomes.wait_for(command.command_id, within=10)
    assert isinstance(outcome, IssueLinked)
    assert not outcome.created
    assert outcome.issue.key == existing["key"]
    assert ("POST", SEARCH, 200) in calls(await jira_sim.requests())
    assert await jira_sim.requests("POST", CREATE) == []
    assert len(await jira_sim.issues(label_of(incident))) == 1


async def test_retry_after_a_5xx_on_create_searches_first(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    await warm_up(nc, outcomes)
    await jira_sim.clear_requests()
    incident = new_incident()
    # Jira answers the create with 503s ...
    await jira_sim.faults(error_rate=1.0, paths=[CREATE])
    command = create(incident)
    await send(nc, command)

    async def a_503() -> bool:
        return ("POST", CREATE, 503) in calls(await jira_sim.requests())

    await wait_until(a_503, timeout=10, what="a 503 on the create")
    # ... but had stored the issue (Jira may commit before its error): the retry must find it.
    await jira_sim.create_issue(
        summary="Disk full on db-1", labels=[label_of(incident)], as_user=JIRA_USER
    )
    await jira_sim.clear_faults()

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueLinked)
    assert not outcome.created
    sent = calls(await jira_sim.requests())
    first_search = sent.index(("POST", SEARCH, 200))
    assert ("POST", CREATE, 503) in sent[:first_search]
    assert ("POST", CREATE, 201) not in sent
    assert len(await jira_sim.issues(label_of(incident))) == 1
