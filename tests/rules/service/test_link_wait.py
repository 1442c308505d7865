"""Early events wait, not drop, and per-entity lanes, on a real nats-server: a note or comment of
an entity whose create is in flight waits for the link (its lane only), then syncs once; after
``link_wait`` it goes to the DLQ with the reason."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from nats.aio.client import Client
from pdjira_common import streams
from pdjira_common.contracts import (
    AddComment,
    AddNote,
    Command,
    CreateIncident,
    CreateIssue,
    DeadLetter,
    IncidentRef,
    IssueRef,
    Link,
    TransitionIssue,
    decode_audit,
    decode_command,
)
from pdjira_common.retry import wait_delay
from pdjira_common.subjects import unpartitioned
from pdjira_devstack.waiting import group_state, wait_until
from pdjira_rules.main import lane_retry

from ..builders import (
    comment_event,
    incident_data,
    incident_event,
    issue_event,
    issue_fields,
    note_event,
)
from .conftest import (
    FakeMapping,
    RunRules,
    drained,
    incident_link,
    publish_event,
    rules_config,
    stream_messages,
)

_dead_letter = msgspec.json.Decoder(DeadLetter)
OTHER = "PB0THER"  # another incident, in a lane of its own


async def _commands(nc: Client, subject: str = "") -> list[Command]:
    """The commands sent (only those on ``subject``, if given), in stream order."""
    stored = await stream_messages(nc, streams.COMMANDS)
    return [
        decode_command(m.data or b"")
        for m in stored
        if unpartitioned(m.subject).startswith(subject)
    ]


async def _held(nc: Client, count: int) -> None:
    """Until the rules consumer holds ``count`` events unacked (waiting in their lanes)."""

    async def holding() -> bool:
        info = await group_state(nc.jetstream(), streams.EVENTS, "rules")
        return bool(info.num_pending == 0 and info.num_ack_pending == count)

    await wait_until(holding, timeout=10.0, what=f"{count} event(s) held", interval=0.05)


def _link_wait(seconds: float) -> dict[str, Any]:
    return {"rules_service": {"link_wait": seconds}}


async def test_note_before_the_link_waits_in_its_lane_and_syncs_once_linked(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    await mapping.start()
    await run_rules(**_link_wait(60.0))

    await publish_event(nc, incident_event(), "trigger")  # CreateIssue: its link is pending
    await publish_event(nc, note_event(event_id="n1", correlation_id="n1"), "n1")
    resolved = incident_event("incident.resolved", event_id="r1", correlation_id="r1")
    await publish_event(nc, resolved, "r1")  # behind the note, in the same lane
    other = incident_event(
        event_id="o1",
        correlation_id="o1",
        incident_id=OTHER,
        data=incident_data(id=OTHER),
    )
    await publish_event(nc, other, "o1")  # another entity: not held up
    await _held(nc, 2)  # the note waiting, the resolve behind it
    await asyncio.sleep(1.5)  # more than one look for the link

    assert [type(c) for c in await _commands(nc, "commands.jira.dc1.PGR0VU2")] == [CreateIssue]
    assert [type(c) for c in await _commands(nc, f"commands.jira.dc1.{OTHER}")] == [CreateIssue]
    audits = await stream_messages(nc, streams.AUDIT)
    assert {decode_audit(m.data or b"").event_id for m in audits} == {"ev-1", "o1"}  # not n1

    mapping.links.append(incident_link())  # the writer's outcome recorded the link
    await drained(nc)

    commands = await _commands(nc, "commands.jira.dc1.PGR0VU2")
    assert [type(c) for c in commands] == [CreateIssue, AddComment, TransitionIssue]  # in order
    note = commands[1]
    assert isinstance(note, AddComment)
    assert (note.note_id, note.command_id) == ("PNOTE1", "note:acme:PNOTE1")
    assert await stream_messages(nc, streams.DLQ) == []


async def test_note_of_an_entity_never_linked_goes_to_the_dlq_with_the_reason(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    await mapping.start()
    await run_rules(**_link_wait(1.5))

    await publish_event(nc, incident_event(), "trigger")
    await publish_event(nc, note_event(event_id="n1", correlation_id="n1"), "n1")
    await publish_event(nc, incident_event("incident.resolved", event_id="r1"), "r1")
    await drained(nc, timeout=20.0)

    [letter_msg] = await stream_messages(nc, streams.DLQ)
    letter = _dead_letter.decode(letter_msg.data or b"")
    assert letter.reason.startswith(
        "issue never got linked within 1.5 s: the note of pd:acme:PGR0VU2 (event n1) waited "
        "for CreateIssue create:acme:PGR0VU2 sent at "
    )
    assert letter.attempts == 1  # waiting is no failed attempt
    assert letter.correlation_id == "n1"
    # The lane moved on: the resolve behind the note was decided (the writer waits for the
    # issue the rule creates).
    assert [type(c) for c in await _commands(nc)] == [CreateIssue, TransitionIssue]


async def test_note_with_neither_link_nor_create_in_flight_is_skipped_at_once(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    await mapping.start()
    await run_rules(**_link_wait(60.0))

    await publish_event(nc, note_event(event_id="n1", correlation_id="n1"), "n1")
    await drained(nc, timeout=5.0)

    assert await stream_messages(nc, streams.COMMANDS) == []
    [audit] = await stream_messages(nc, streams.AUDIT)
    record = decode_audit(audit.data or b"")
    assert record.summary == "no rule matched"
    assert any("is not linked to an issue; note not synced" in v.reason for v in record.verdicts)


JIRA_BORN = {
    "account": "acme",
    "instance": "dc1",
    "rule": {
        "name": "jira-born",
        "enabled": True,
        "config": {
            "sync_comments": True,
            "services": [{"id": "PSVC9"}],
            "projects": [{"key": "OPS"}],
            "issue_types": [{"label": "Task"}],
            "autocreate_incidents": True,
            "autocreate_incidents_config": [
                {"jql": "project = OPS", "on_create": True, "on_update": False}
            ],
        },
    },
}
CREATED = {"webhook_event": "jira:issue_created", "issue_event_type": "issue_created"}


async def test_comment_before_the_incident_is_linked_waits_then_syncs_once(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    await mapping.start()
    await run_rules(pagerduty_rules=[JIRA_BORN], **_link_wait(60.0))

    await publish_event(nc, issue_event(**CREATED), "created")  # CreateIncident: link pending
    comment = comment_event(event_id="jira:dc1:c1", correlation_id="c1")
    await publish_event(nc, comment, "c1")
    await _held(nc, 1)
    assert [type(c) for c in await _commands(nc)] == [CreateIncident]

    mapping.links.append(
        Link(
            incident=IncidentRef(account="acme", incident_id="PNEW1"),
            issue=IssueRef(instance="dc1", issue_id="10100", key="OPS-4"),
            created_at="2020-10-02T18:45:30Z",
        )
    )
    await drained(nc)

    create, note = await _commands(nc)
    assert isinstance(create, CreateIncident)
    assert isinstance(note, AddNote)
    assert (note.incident.incident_id, note.comment_id) == ("PNEW1", "10500")
    assert await stream_messages(nc, streams.DLQ) == []


def test_the_lanes_wait_count_never_cuts_the_link_wait_short() -> None:
    config = rules_config("nats://127.0.0.1:1", **_link_wait(300.0))
    waits = lane_retry(config).prerequisite_max_attempts
    assert sum(wait_delay(n) for n in range(1, waits + 1)) >= 300
    assert lane_retry(config).max_attempts == config.retry.max_attempts  # the rest as configured
    default = lane_retry(rules_config("nats://127.0.0.1:1")).prerequisite_max_attempts
    assert sum(wait_delay(n) for n in range(1, default + 1)) >= 600


PNEW1_LINK = Link(
    incident=IncidentRef(account="acme", incident_id="PNEW1"),
    issue=IssueRef(instance="dc1", issue_id="10100", key="OPS-4"),
    created_at="2020-10-02T18:45:30Z",
)


def _trigger_of_our_incident(incident_key: str) -> Any:
    """The trigger webhook of the incident pd-writer creates for OPS-4 (its incident_key)."""
    data = incident_data(id="PNEW1", incident_key=incident_key)
    return incident_event(event_id="t-new", correlation_id="t-new", incident_id="PNEW1", data=data)


async def test_the_trigger_of_the_incident_made_for_an_issue_waits_for_its_link(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    """Both directions on: the incident pdjira creates for OPS-4 triggers, and its webhook
    comes before the writer's outcome recorded the link. Decided then, the rule that creates
    issues for incidents would make it a second issue."""
    await mapping.start()
    await run_rules(pagerduty_rules=[JIRA_BORN], **_link_wait(60.0))

    await publish_event(nc, issue_event(**CREATED), "created")  # CreateIncident for OPS-4
    await drained(nc)  # sent (the writer creates the incident, which then triggers)
    await publish_event(nc, _trigger_of_our_incident("OPS-4"), "t-new")
    await _held(nc, 1)
    assert [type(c) for c in await _commands(nc)] == [CreateIncident]

    mapping.links.append(PNEW1_LINK)  # the outcome of the create is recorded
    await drained(nc)

    assert [type(c) for c in await _commands(nc)] == [CreateIncident]  # no second issue
    assert await stream_messages(nc, streams.DLQ) == []


async def test_an_incident_whose_key_no_create_of_ours_carries_is_decided_at_once(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    await mapping.start()
    await run_rules(pagerduty_rules=[JIRA_BORN], **_link_wait(60.0))

    await publish_event(nc, issue_event(**CREATED), "created")  # CreateIncident for OPS-4
    await drained(nc)
    await publish_event(nc, _trigger_of_our_incident("checkout-db-1"), "t-new")
    await drained(nc)

    commands = await _commands(nc)
    assert [type(c) for c in commands] == [CreateIncident, CreateIssue]


async def test_the_create_of_the_issue_made_for_an_incident_waits_for_its_link(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    """The issue jira-writer creates for PGR0VU2 (labelled so) matches a rule that creates
    incidents for issues; its create webhook must not be decided before the link is there."""
    await mapping.start()
    await run_rules(pagerduty_rules=[JIRA_BORN], **_link_wait(60.0))

    await publish_event(nc, incident_event(), "trigger")  # CreateIssue for PGR0VU2
    await drained(nc)
    ours = issue_event(**CREATED, fields=issue_fields(labels=["pdjira-acme-PGR0VU2"]))
    await publish_event(nc, ours, "created")
    await _held(nc, 1)
    assert [type(c) for c in await _commands(nc)] == [CreateIssue]

    mapping.links.append(incident_link())
    await drained(nc)

    assert [type(c) for c in await _commands(nc)] == [CreateIssue]  # no incident for it
    assert await stream_messages(nc, streams.DLQ) == []


async def test_a_comment_that_itself_made_the_incident_is_synced_once_linked(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    """The issue's create webhook was lost; its first webhook is a comment, on which the JQL
    (on update) matches: that event sends the create, and its comment must not be lost."""
    on_update = {
        **JIRA_BORN,
        "rule": {
            **JIRA_BORN["rule"],
            "config": {
                **JIRA_BORN["rule"]["config"],
                "autocreate_incidents_config": [
                    {"jql": "project = OPS", "on_create": True, "on_update": True}
                ],
            },
        },
    }
    await mapping.start()
    await run_rules(pagerduty_rules=[on_update], **_link_wait(60.0))

    comment = comment_event(event_id="jira:dc1:c1", correlation_id="c1")
    await publish_event(nc, comment, "c1")

    async def create_sent() -> bool:
        return bool(await _commands(nc))

    await wait_until(create_sent, timeout=10.0, what="the create", interval=0.05)
    await asyncio.sleep(1.5)  # more than one look for the link
    assert [type(c) for c in await _commands(nc)] == [CreateIncident]
    await _held(nc, 1)  # waiting for the link

    mapping.links.append(PNEW1_LINK)
    await drained(nc)

    create, note = await _commands(nc)
    assert isinstance(create, CreateIncident)
    assert isinstance(note, AddNote)
    assert note.comment_id == "10500"
    assert await stream_messages(nc, streams.DLQ) == []
