"""Poison on the running stack: a signed webhook whose incident id is 5,000 characters is a 400
at ingest; the same kind of event published straight into EVENTS (around ingest) and an event
that does not decode both end in rules' DLQ, while a normal incident keeps syncing to Jira
within its usual latency, and rules lives on.

Every wait is for a signal (the audit record, the dead letter, the issue), never a sleep."""

from __future__ import annotations

import time
import uuid

import httpx
import msgspec
import pytest
from nats.aio.client import Client
from pdjira_common import streams, subjects
from pdjira_common.contracts import DeadLetter, IncidentEvent, encode
from pdjira_common.headers import CORRELATION_HEADER, MSG_ID_HEADER
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import ACCOUNT, Stack
from pdjira_devstack.waiting import SimulatorState, wait_until
from pdjira_devstack.webhooks import signed_pagerduty_webhook

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
    # Through ingest, signed: refused with a 400 naming the field.
    body, headers = signed_pagerduty_webhook(
        stack.env["PD_WEBHOOK_SECRET"], huge.incident_id, event_id=str(uuid.uuid4())
    )
    answer = await http.post(
        f"{stack.url('ingest')}/webhooks/pagerduty/{ACCOUNT}", content=body, headers=headers
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_field"
    assert "event.data.id" in answer.json()["error"]["message"]
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

    # The huge event is a dead letter naming the id; its audit subject stayed bounded.
    async def huge_dead_lettered() -> list[DeadLetter]:
        return await dead_letters(bus, encode(huge))

    [huge_letter] = await wait_until(
        huge_dead_lettered, timeout=30, what="the huge event's dead letter"
    )
    assert "incident_id is 5000 characters long" in huge_letter.reason

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
