"""The rules service on a real nats-server: events in, commands and audit records out."""

from __future__ import annotations

import asyncio
import io
import json
import sys

import msgspec
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig
from pdjira_common import streams
from pdjira_common.bus import MSG_ID_HEADER
from pdjira_common.consumers import LANE_MAX_DELIVER
from pdjira_common.contracts import (
    CreateIssue,
    DeadLetter,
    Event,
    TransitionIssue,
    UpdateIncident,
    decode_audit,
    decode_command,
    encode,
)
from pdjira_common.logging import configure_logging
from pdjira_common.subjects import unpartitioned
from pdjira_devstack.waiting import group_state, wait_until
from support.logs import configure_test_logging

from ..builders import incident_event, issue_event, status_change
from .conftest import (
    FakeMapping,
    RunRules,
    drained,
    incident_link,
    publish_event,
    stream_messages,
)

_dead_letter = msgspec.json.Decoder(DeadLetter)


async def test_triggered_event_yields_one_create_and_an_audit_record(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    await mapping.start()
    await run_rules()
    event = incident_event(event_id="01TRIGGER", correlation_id="01TRIGGER")

    await publish_event(nc, event, "pd:acme:01TRIGGER")
    await drained(nc)
    # The same fact again (e.g. re-published after the dedup window): no second create.
    await publish_event(nc, event, "pd:acme:01TRIGGER:again")
    await drained(nc)

    [stored] = await stream_messages(nc, streams.COMMANDS)
    assert unpartitioned(stored.subject) == "commands.jira.dc1.PGR0VU2"
    assert stored.headers is not None
    assert stored.headers[MSG_ID_HEADER] == "create:acme:PGR0VU2"
    command = decode_command(stored.data or b"")
    assert isinstance(command, CreateIssue)
    assert (command.project, command.issue_type, command.correlation_id) == (
        "OPS",
        "Task",
        "01TRIGGER",
    )

    [audit] = await stream_messages(nc, streams.AUDIT)  # same decision twice: one record
    assert audit.subject == "audit.01TRIGGER"
    record = decode_audit(audit.data or b"")
    assert record.command_ids == ("create:acme:PGR0VU2",)
    assert {v.rule for v in record.verdicts} == {"ops"}  # the simple rule, by its name
    assert [(v.item, v.matched) for v in record.verdicts if v.matched] == [
        ("autocreate_issues_config[0]", True)
    ]
    assert len(mapping.queries) == 2  # asked every time, never assumed


async def test_linked_incident_acknowledged_moves_the_issue(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    mapping.links.append(incident_link())
    await mapping.start()
    await run_rules()

    await publish_event(nc, incident_event("incident.triggered"), "e1")
    await publish_event(
        nc, incident_event("incident.acknowledged", event_id="e2", correlation_id="e2"), "e2"
    )
    await drained(nc)

    [stored] = await stream_messages(nc, streams.COMMANDS)  # linked: no create
    command = decode_command(stored.data or b"")
    assert isinstance(command, TransitionIssue)
    assert command.command_id.startswith("e2:")  # keyed by the event
    assert (command.target_status, command.resolution) == ("In Progress", None)
    records = [decode_audit(m.data or b"") for m in await stream_messages(nc, streams.AUDIT)]
    assert "already linked to OPS-4" in records[0].verdicts[0].reason


async def test_jira_status_change_resolves_the_linked_incident(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    mapping.links.append(incident_link())
    await mapping.start()
    await run_rules()

    await publish_event(nc, issue_event(status_change("Done")), "jira:dc1:abc")
    await drained(nc)

    [stored] = await stream_messages(nc, streams.COMMANDS)
    assert unpartitioned(stored.subject) == "commands.pd.acme.PGR0VU2"
    command = decode_command(stored.data or b"")
    assert isinstance(command, UpdateIncident)
    assert (command.status, command.actor_user_key) == ("resolved", "JIRAUSER10100")


async def test_mapping_down_is_retried_never_taken_as_not_linked(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    mapping.links.append(incident_link())
    await run_rules()  # no mapping responder yet
    await publish_event(nc, incident_event(), "e1")

    async def taken() -> bool:
        info = await group_state(nc.jetstream(), streams.EVENTS, "rules")
        return bool(info.delivered >= 1 and info.num_ack_pending == 1)

    await wait_until(taken, timeout=10.0, what="the trigger to be taken", interval=0.05)
    await asyncio.sleep(0.5)  # several retries (0.1-0.3 s apart), in its lane
    assert await stream_messages(nc, streams.COMMANDS) == []  # no create for a linked incident
    assert await stream_messages(nc, streams.AUDIT) == []  # nor a decision: it is not made yet

    await mapping.start()
    await drained(nc)
    assert await stream_messages(nc, streams.COMMANDS) == []  # it is linked: still no create
    [audit] = await stream_messages(nc, streams.AUDIT)
    assert "already linked" in decode_audit(audit.data or b"").verdicts[0].reason


async def test_a_retried_event_is_not_overtaken_by_the_next_one(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    mapping.fail_next = 1  # the lookup for the trigger fails once
    await mapping.start()
    await run_rules()

    await publish_event(nc, incident_event("incident.triggered"), "e1")
    await publish_event(
        nc, incident_event("incident.acknowledged", event_id="e2", correlation_id="e2"), "e2"
    )
    await drained(nc)

    commands = [decode_command(m.data or b"") for m in await stream_messages(nc, streams.COMMANDS)]
    assert [type(c) for c in commands] == [CreateIssue, TransitionIssue]
    assert mapping.fail_next == 0


@pytest.mark.parametrize(
    ("body", "why"),
    [
        pytest.param(b'{"type": "pd.incident.v0"}', "Invalid value 'pd.incident.v0'", id="tag"),
        pytest.param(b"not json", "does not decode", id="not-json"),
        pytest.param(
            b'{"type": "pd.incident.v2", "event_id": "x"}', "missing required field", id="field"
        ),
    ],
)
async def test_undecodable_event_is_dead_lettered_at_once_and_does_not_block(
    nc: Client, mapping: FakeMapping, run_rules: RunRules, body: bytes, why: str
) -> None:
    await mapping.start()
    await run_rules()

    await nc.jetstream().publish("events.pd.acme.PGR0VU2", body, stream=streams.EVENTS)
    await publish_event(nc, incident_event(), "e2")
    await drained(nc)

    [letter_msg] = await stream_messages(nc, streams.DLQ)
    assert letter_msg.subject == "dlq.EVENTS.rules"
    letter = _dead_letter.decode(letter_msg.data or b"")
    assert letter.attempts == 1
    assert "the message does not decode as an event (of any version)" in letter.reason
    assert why in letter.reason
    assert letter.data == body
    assert len(await stream_messages(nc, streams.COMMANDS)) == 1  # the next event went through


@pytest.mark.parametrize(
    ("event", "why"),
    [
        pytest.param(
            incident_event(incident_id="P" * 5000), "incident_id is 5000 characters", id="long"
        ),
        pytest.param(issue_event(key="ABC-1.>"), "key has characters", id="odd-key"),
    ],
)
async def test_event_with_an_id_ingest_would_refuse_is_dead_lettered(
    nc: Client, mapping: FakeMapping, run_rules: RunRules, event: Event, why: str
) -> None:
    await mapping.start()
    await run_rules()

    await nc.jetstream().publish("events.pd.acme.X", encode(event), stream=streams.EVENTS)
    await publish_event(nc, incident_event(), "e2")
    await drained(nc)

    [letter_msg] = await stream_messages(nc, streams.DLQ)
    letter = _dead_letter.decode(letter_msg.data or b"")
    assert why in letter.reason
    assert "ingest refuses such ids" in letter.reason
    assert len(await stream_messages(nc, streams.COMMANDS)) == 1  # the next event went through


async def test_existing_consumer_of_one_in_flight_is_opened_to_the_lanes(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    # A durable created by an older version (one event in flight for all entities, a global
    # head-of-line) is updated at start, or the lanes would get one event at a time.
    await nc.jetstream().add_consumer(
        streams.EVENTS,
        ConsumerConfig(
            durable_name="rules", filter_subject="events.>", max_ack_pending=1, ack_wait=5.0
        ),
    )
    await mapping.start()
    await run_rules()

    info = await nc.jetstream().consumer_info(streams.EVENTS, "rules-p0")
    assert info.config.max_ack_pending == 10_000
    assert info.config.ack_wait == 30.0  # the configured retry.ack_wait
    assert info.config.max_deliver == LANE_MAX_DELIVER  # an event that kills rules is bounded


async def test_log_lines_carry_the_event_correlation_id(
    nc: Client,
    mapping: FakeMapping,
    run_rules: RunRules,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    configure_logging("rules", "info")
    try:
        await mapping.start()
        await run_rules()
        await publish_event(nc, incident_event(event_id="01CORR", correlation_id="01CORR"), "x")
        await drained(nc)
    finally:
        configure_test_logging()

    # The link lookup's reply passes the broker middlewares too; it must not rebind the id.
    [decided] = [json.loads(line) for line in buffer.getvalue().splitlines() if '"decided"' in line]
    assert decided["correlation_id"] == "01CORR"
    assert decided["service"] == "rules"
