"""`GET /_sim/webhook-activity`: what is queued or in flight now, and counters that only grow
(the quiet signal of the end-to-end tests reads it), on both simulators."""

from __future__ import annotations

import asyncio

from .conftest import Sim


async def activity(sim: Sim) -> dict[str, int]:
    response = await sim.admin.get("/_sim/webhook-activity")
    assert response.status_code == 200
    counters: dict[str, int] = response.json()
    return counters


async def test_pagerduty_counts_queued_retried_and_delivered_webhooks(pd: Sim) -> None:
    assert await activity(pd) == {"queued": 0, "submitted": 0, "attempts": 0, "held": 0}
    answer = asyncio.Event()
    pd.receiver.handler = lambda hook: 202 if answer.is_set() else 500  # fails until told
    await pd.admin.post("/_sim/incidents", json={"title": "retried"})
    await pd.receiver.wait_for(2)  # failed twice: queued all the while, waiting to retry
    now = await activity(pd)
    assert now["queued"] == 1
    assert now["submitted"] == 1
    assert now["attempts"] >= 2
    answer.set()
    await pd.settled()
    after = await activity(pd)
    assert after["queued"] == 0
    assert after["submitted"] == 1
    assert after["attempts"] == len(pd.receiver.received)
    # Clearing the delivery log does not lower the counters.
    await pd.admin.delete("/_sim/deliveries")
    assert await activity(pd) == after


async def test_jira_counts_each_webhook_once_and_its_single_attempt(jira: Sim) -> None:
    for summary in ("one", "two"):
        created = await jira.admin.post("/_sim/issues", json={"summary": summary})
        assert created.status_code == 201
    await jira.settled()
    assert await activity(jira) == {"queued": 0, "submitted": 2, "attempts": 2, "held": 0}


async def test_held_webhooks_are_counted_apart_and_released(jira: Sim) -> None:
    await jira.admin.put("/_sim/webhook-faults", json={"reorder_rate": 1.0})
    await jira.admin.post("/_sim/issues", json={"summary": "held back"})
    await jira.settled()
    assert await activity(jira) == {"queued": 0, "submitted": 1, "attempts": 0, "held": 1}
    await jira.admin.delete("/_sim/webhook-faults")  # releases it
    await jira.settled()
    assert await activity(jira) == {"queued": 0, "submitted": 1, "attempts": 1, "held": 0}
    assert len(jira.receiver.received) == 1
