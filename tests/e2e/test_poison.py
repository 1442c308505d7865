"""Poison on the running stack: an event whose ids are 5,000 characters (published straight
into EVENTS: ingest refuses such a webhook) and an event that does not decode reach rules,
while a normal incident keeps syncing to Jira within its usual latency, and rules lives on.

Every wait is for a signal (the audit record, the dead letter, the issue), never a sleep."""

from __future__ import annotations

import time
import uuid

import httpx
import msgspec
import pytest
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from pdjira_common import streams, subjects
from pdjira_common.contracts import AuditRecord, DeadLetter, IncidentEvent, encode
from pdjira_common.headers import CORRELATION_HEADER, MSG_ID_HEADER
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import ACCOUNT, Stack
from pdjira_devstack.waiting import SimulatorState, wait_until

from .conftest import SHARED_STACK

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]

SYNC_WITHIN = 10.0  # seconds from a trigger to its issue (usually well under two)


def huge_event(tag: str) -> IncidentEvent:
    """An incident event whose incident id and event (correlation) id are 5,000 characters."""
    incident_id = ("P" + tag + "X" * 5000)[:5000]
    event_id = ("E" + tag + "Y" * 5000)[:5000]
    return IncidentEvent(
        event_id=event_id,
        correlation_id=event_id,
        account=ACCOUNT,
        incident_id=incident_id,
        event_type="incident.acknowledged",
        occurred_at="2030-01-01T00:00:00Z",
        title="an id far too long for a subject",
        html_url="https://example.pagerduty.com/incidents/x",
    )


async def dead_letters(bus: Client, body: bytes) -> list[DeadLetter]:
    """The letters in ``dlq.EVENTS.rules`` whose data is ``body`` (other tests add theirs)."""
    js = bus.jetstream()
    sub = await js.pull_subscribe(subjects.dlq(streams.EVENTS, "rules"), stream=streams.DLQ)
    found: list[DeadLetter] = []
    try:
        while True:
            try:
                batch = await sub.fetch(256, timeout=0.5)
            except TimeoutError:
                break
            for msg in batch:
                letter = msgspec.json.decode(msg.data, type=DeadLetter)
                if letter.data == body:
                    found.append(letter)
    finally:
        await sub.unsubscribe()
    return found


async def synced_in_time(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, title: str
) -> None:
    """A new incident gets its Jira issue within :data:`SYNC_WITHIN` seconds."""
    started = time.monotonic()
    incident = await trigger_incident(http, stack.pd_url, title)

    async def issue() -> list[dict[str, object]] | None:
        return await sims.issues_for_incident(ACCOUNT, incident["id"]) or None

    await wait_until(issue, timeout=SYNC_WITHIN, what=f"the issue of {title!r}")
    assert time.monotonic() - started < SYNC_WITHIN


async def test_poison_events_do_not_stop_rules_nor_delay_a_normal_sync(
    stack: Stack, bus: Client, http: httpx.AsyncClient, sims: SimulatorState
) -> None:
    js = bus.jetstream()
    tag = uuid.uuid4().hex[:8]
    huge = huge_event(tag)
    subject = subjects.event_pd(huge.account, huge.incident_id)
    assert len(subject) < 200
    await js.publish(
        subject,
        encode(huge),
        stream=streams.EVENTS,
        headers={MSG_ID_HEADER: subjects.msg_id(huge.event_id), CORRELATION_HEADER: "x"},
    )
    # A body that does not decode as any event: rules can never handle it.
    poison = b"\xff not an event " + tag.encode()
    await js.publish(
        subjects.event_pd(ACCOUNT, f"POISON{tag}"),
        poison,
        stream=streams.EVENTS,
        headers={MSG_ID_HEADER: f"poison-{tag}"},
    )

    # Meanwhile a normal incident syncs within its usual latency.
    await synced_in_time(stack, http, sims, f"Normal sync next to poison {tag}")

    # The huge event was decided: its audit record is on a bounded subject, rules lives on.
    async def audited() -> AuditRecord | None:
        try:
            raw = await js.get_last_msg(streams.AUDIT, subjects.audit(huge.correlation_id))
        except NotFoundError:
            return None
        return msgspec.json.decode(raw.data or b"", type=AuditRecord)

    record = await wait_until(audited, timeout=30, what="the audit record of the huge event")
    assert record.correlation_id == huge.correlation_id  # the full id stays in the body

    # The event that does not decode is in the DLQ, with the reason.
    async def dead_lettered() -> list[DeadLetter]:
        return await dead_letters(bus, poison)

    [letter] = await wait_until(dead_lettered, timeout=30, what="the poison event's dead letter")
    assert "does not decode" in letter.reason
    assert letter.stream == streams.EVENTS

    # And afterwards: rules' connection survived the huge event's subjects.
    await synced_in_time(stack, http, sims, f"Normal sync after poison {tag}")
    assert stack["rules"].running
    assert (await http.get(f"{stack.rules_url}/health")).is_success
