"""``/metrics`` stays small however many events pass: no metric is labelled by an id or a full
subject (a series per value lives as long as the process). 2,000 signed webhooks through ingest
and 3,000 events straight onto the EVENTS stream, each of a different incident; then every
service's ``/metrics`` is under 200 KB."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from nats.aio.client import Client
from pdjira_common.contracts import IncidentEvent, encode
from pdjira_common.headers import CORRELATION_HEADER, MSG_ID_HEADER
from pdjira_common.streams import EVENTS
from pdjira_common.subjects import event_pd
from pdjira_devstack.stack import ACCOUNT, SERVICES, Stack
from pdjira_devstack.waiting import wait_drained
from pdjira_devstack.webhooks import signed_pagerduty_webhook

from .conftest import SHARED_STACK

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]

WEBHOOKS = 2_000
ON_THE_BUS = 3_000
LIMIT = 200_000  # bytes of /metrics per service
# Events of a service no rule takes: every one is decided (and audited), none makes an issue.
SERVICE = "PNOSUCHSVC"


def _webhook(secret: str, incident: str) -> tuple[bytes, dict[str, str]]:
    return signed_pagerduty_webhook(
        secret, incident, event_type="incident.priority_updated", service_id=SERVICE, number=1
    )


async def _send_webhooks(stack: Stack, run: str) -> None:
    url = f"{stack.url('ingest')}/webhooks/pagerduty/{ACCOUNT}"
    secret = stack.env["PD_WEBHOOK_SECRET"]
    queue = list(range(WEBHOOKS))

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            i = queue.pop()
            body, headers = _webhook(secret, f"QMW{run}{i:06d}")
            response = await client.post(url, content=body, headers=headers)
            assert response.status_code == 202, response.text

    async with httpx.AsyncClient(timeout=30.0) as client:
        await asyncio.gather(*(worker(client) for _ in range(16)))


async def _publish_events(bus: Client, run: str) -> None:
    js = bus.jetstream()
    for start in range(0, ON_THE_BUS, 500):
        acks = []
        for i in range(start, min(start + 500, ON_THE_BUS)):
            incident = f"QMB{run}{i:06d}"
            correlation = str(uuid.uuid4())
            event = IncidentEvent(
                event_id=str(uuid.uuid4()),
                correlation_id=correlation,
                account=ACCOUNT,
                incident_id=incident,
                # A few event types nobody syncs: a label from outside stays bounded too.
                event_type=f"incident.made_up_{i % 7}" if i % 10 == 0 else "incident.reopened",
                occurred_at="2026-11-26T10:00:00Z",
                title="metrics size",
                html_url=f"https://acme.pagerduty.com/incidents/{incident}",
            )
            acks.append(
                js.publish(
                    event_pd(ACCOUNT, incident),
                    encode(event),
                    stream=EVENTS,
                    headers={MSG_ID_HEADER: event.event_id, CORRELATION_HEADER: correlation},
                )
            )
        await asyncio.gather(*acks)


async def test_metrics_stay_small_after_5000_events(
    stack: Stack, bus: Client, http: httpx.AsyncClient
) -> None:
    run = uuid.uuid4().hex[:6]
    await asyncio.gather(_send_webhooks(stack, run), _publish_events(bus, run))
    # Every consumer (rules' lanes, the writers', mapping's) has acked all it was given.
    await wait_drained(bus.jetstream(), timeout=60.0, interval=0.2)
    sizes = {}
    for name in SERVICES:
        response = await http.get(f"{stack.url(name)}/metrics")
        response.raise_for_status()
        sizes[name] = len(response.content)
    print("/metrics bytes after 5,000 events:", sizes)
    assert all(size < LIMIT for size in sizes.values()), sizes
    rules = (await http.get(f"{stack.url('rules')}/metrics")).text
    assert run not in rules  # no incident id, correlation id or full subject as a label
