"""PagerDuty: every documented incident webhook event, log entries, since/until, priorities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pdjira_simulators.pagerduty import PagerDutySettings, create_app
from pdjira_simulators.pagerduty.state import INCIDENT_EVENT_TYPES
from pdjira_simulators.testing import running_server

from .conftest import Sim


def ref(kind: str, obj_id: str) -> dict[str, str]:
    return {"id": obj_id, "type": f"{kind}_reference"}


async def put(pd: Sim, incident_id: str, **fields: Any) -> httpx.Response:
    body = {"incident": {"type": "incident_reference", **fields}}
    return await pd.client.put(f"/incidents/{incident_id}", json=body)


async def test_every_documented_incident_event_is_sent(pd: Sim) -> None:
    created = await pd.admin.post("/_sim/incidents", json={"title": "Checkout down"})
    incident_id = created.json()["incident"]["id"]
    path = f"/incidents/{incident_id}"
    assert (await put(pd, incident_id, status="acknowledged")).status_code == 200
    assert (await put(pd, incident_id, status="triggered")).status_code == 200
    assert (await put(pd, incident_id, priority=ref("priority", "PPRI001"))).status_code == 200
    reassigned = await put(pd, incident_id, assignments=[{"assignee": ref("user", "PUSER02")}])
    assert reassigned.json()["incident"]["assignments"][0]["assignee"]["id"] == "PUSER02"
    delegated = await put(pd, incident_id, escalation_policy=ref("escalation_policy", "PEP0002"))
    assert delegated.json()["incident"]["escalation_policy"]["id"] == "PEP0002"
    escalated = await pd.admin.post(f"/_sim{path}/escalate", json={"to_user": "PUSER01"})
    assert escalated.json()["incident"]["assignments"][0]["assignee"]["id"] == "PUSER01"
    note = await pd.client.post(f"{path}/notes", json={"note": {"content": "looking"}})
    assert note.status_code == 200
    update = await pd.client.post(f"{path}/status_updates", json={"message": "Fix deploying"})
    assert update.status_code == 200
    assert update.json()["status_update"]["sender"]["id"] == "PUSER02"
    request = await pd.client.post(
        f"{path}/responder_requests",
        json={
            "requester_id": "PUSER02",
            "message": "Please join",
            "responder_request_targets": [{"responder_request_target": ref("user", "PUSER01")}],
        },
    )
    assert request.status_code == 200
    target = request.json()["responder_request"]["responder_request_targets"][0]
    assert target["responder_request_target"]["incidents_responders"][0]["state"] == "pending"
    replied = await pd.admin.post(f"/_sim{path}/responders/PUSER01/reply", json={"accept": True})
    assert replied.json()["incident"]["incidents_responders"][0]["state"] == "joined"
    assert (await put(pd, incident_id, status="resolved")).status_code == 200
    assert (await put(pd, incident_id, status="triggered")).status_code == 200  # reopen

    hooks = await pd.receiver.wait_for(13)
    events = [h.json()["event"] for h in hooks]
    assert [e["event_type"] for e in events] == [
        "incident.triggered",
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.priority_updated",
        "incident.reassigned",
        "incident.delegated",
        "incident.escalated",
        "incident.annotated",
        "incident.status_update_published",
        "incident.responder.added",
        "incident.responder.replied",
        "incident.resolved",
        "incident.reopened",
    ]
    assert {e["event_type"] for e in events} == set(INCIDENT_EVENT_TYPES)
    by_type = {e["event_type"]: e for e in events}
    assert by_type["incident.escalated"]["agent"] is None  # PagerDuty escalated on its own
    assert by_type["incident.delegated"]["data"]["escalation_policy"]["id"] == "PEP0002"
    status_update = by_type["incident.status_update_published"]["data"]
    assert status_update["type"] == "incident_status_update"
    assert status_update["message"] == "Fix deploying"
    assert status_update["incident"]["id"] == incident_id
    added = by_type["incident.responder.added"]["data"]
    assert (added["type"], added["state"], added["user"]["id"]) == (
        "incident_responder",
        "pending",
        "PUSER01",
    )
    replied_data = by_type["incident.responder.replied"]["data"]
    assert replied_data["state"] == "accepted"
    assert by_type["incident.responder.replied"]["agent"]["id"] == "PUSER01"


async def test_log_entries_follow_the_incident(pd: Sim) -> None:
    created = await pd.admin.post("/_sim/incidents", json={"title": "timeline"})
    incident_id = created.json()["incident"]["id"]
    await put(pd, incident_id, status="acknowledged")
    await pd.client.post(f"/incidents/{incident_id}/notes", json={"note": {"content": "n"}})
    await put(pd, incident_id, status="resolved")
    listed = (await pd.client.get(f"/incidents/{incident_id}/log_entries")).json()
    entries = listed["log_entries"]
    assert [e["type"] for e in entries] == [
        "resolve_log_entry",
        "annotate_log_entry",
        "acknowledge_log_entry",
        "trigger_log_entry",
    ]
    assert entries[0]["summary"] == "Resolved by Integration Bot"
    assert entries[0]["agent"]["id"] == "PUSER02"
    assert entries[-1]["assignees"][0]["id"] == "PUSER01"
    assert listed["more"] is False
    overview = await pd.client.get(
        f"/incidents/{incident_id}/log_entries", params={"is_overview": "true"}
    )
    assert "annotate_log_entry" not in [e["type"] for e in overview.json()["log_entries"]]
    one = await pd.client.get(f"/log_entries/{entries[1]['id']}")
    assert one.json()["log_entry"]["incident"]["id"] == incident_id
    assert (await pd.client.get("/log_entries/RNOPE")).status_code == 404
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = await pd.client.get("/log_entries", params={"since": future})
    assert later.json()["log_entries"] == []
    everything = await pd.client.get("/log_entries", params={"limit": 2})
    assert everything.json()["more"] is True


async def test_list_since_until(pd: Sim) -> None:
    old = (await pd.admin.post("/_sim/incidents", json={"title": "old"})).json()["incident"]
    new = (await pd.admin.post("/_sim/incidents", json={"title": "new"})).json()["incident"]
    now = datetime.now(UTC)
    pd.sim.state.incidents[old["id"]].created_at = now - timedelta(days=40)
    pd.sim.state.incidents[new["id"]].created_at = now - timedelta(days=2)

    async def titles(**params: str) -> list[str]:
        resp = await pd.client.get("/incidents", params=params)
        assert resp.status_code == 200, resp.text
        return [i["title"] for i in resp.json()["incidents"]]

    assert await titles() == ["new"]  # default range: the last month
    assert await titles(date_range="all") == ["old", "new"]
    day = timedelta(days=1)
    assert await titles(since=(now - 3 * day).isoformat()) == ["new"]
    assert await titles(since=(now - 50 * day).isoformat(), until=(now - 3 * day).isoformat()) == [
        "old"
    ]
    too_wide = await pd.client.get("/incidents", params={"since": (now - 200 * day).isoformat()})
    assert too_wide.status_code == 400
    assert too_wide.json()["error"]["code"] == 2001
    garbage = await pd.client.get("/incidents", params={"since": "yesterday"})
    assert garbage.status_code == 400
    backwards = await pd.client.get(
        "/incidents", params={"since": now.isoformat(), "until": (now - day).isoformat()}
    )
    assert backwards.status_code == 400


async def test_account_without_priorities() -> None:
    app = create_app(PagerDutySettings(token="t", priorities_enabled=False))
    headers = {"Authorization": "Token token=t", "From": "pat@example.com"}
    async with (
        running_server(app) as base,
        httpx.AsyncClient(base_url=base, headers=headers, trust_env=False) as client,
    ):
        resp = await client.get("/priorities")
        assert resp.status_code == 404
        assert resp.json() == {"error": {"message": "Not Found", "code": 2100}}
        created = await client.post(
            "/incidents",
            json={
                "incident": {
                    "type": "incident",
                    "title": "x",
                    "service": ref("service", "PSVC001"),
                    "priority": ref("priority", "PPRI001"),
                }
            },
        )
        assert created.status_code == 400
        assert created.json()["error"]["code"] == 1020


async def test_webhook_retried_after_the_receiver_times_out() -> None:
    """PagerDuty "expects a 2xx response within 5 seconds" and retries otherwise."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    assert PagerDutySettings().webhook_timeout == 5.0
    seen: list[str] = []
    done = asyncio.Event()

    async def slow_then_fast(request: Request) -> Response:
        seen.append(request.headers["x-webhook-id"])
        if len(seen) == 1:
            await done.wait()  # answers only after the test: longer than any timeout
        return Response(status_code=202)

    receiver = Starlette(routes=[Route("/hook", slow_then_fast, methods=["POST"])])
    async with running_server(receiver) as rx_base:
        settings = PagerDutySettings(
            token="t",
            webhook_url=f"{rx_base}/hook",
            webhook_secrets=("s",),
            webhook_timeout=0.2,
            webhook_retry_delay=0.05,
        )
        app = create_app(settings)
        try:
            async with running_server(app) as base, httpx.AsyncClient(base_url=base) as admin:
                await admin.post("/_sim/incidents", json={"title": "slow receiver"})
                await asyncio.wait_for(app.state.sim.dispatcher.idle(), timeout=5)
                deliveries = (await admin.get("/_sim/deliveries")).json()["deliveries"]
        finally:
            done.set()  # the first request's handler ends, so the receiver can stop
    assert [(d["attempt"], d["status_code"], d["error"]) for d in deliveries] == [
        (1, None, "timeout"),
        (2, 202, None),
    ]
    assert len(seen) == 2
    assert seen[0] == seen[1]  # the retry repeats X-Webhook-Id


async def test_ping_and_service_filter(pd: Sim) -> None:
    assert (await pd.client.post("/webhook_subscriptions/PSIMWHK/ping")).status_code == 202
    [ping] = await pd.receiver.wait_for(1)
    event = ping.json()["event"]
    assert (event["event_type"], event["resource_type"]) == ("pagey.ping", "pagey")
    assert event["data"] == {"message": "Hello from your friend Pagey!", "type": "ping"}
    await pd.admin.post("/_sim/incidents", json={"title": "on checkout"})
    on_service = await pd.client.get("/incidents", params={"service_ids[]": ["PSVC001"]})
    assert [i["title"] for i in on_service.json()["incidents"]] == ["on checkout"]
    elsewhere = await pd.client.get("/incidents", params={"service_ids[]": ["POTHER1"]})
    assert elsewhere.json()["incidents"] == []


async def test_latency_and_webhook_delay_faults(pd: Sim) -> None:
    import random
    import time

    await pd.admin.put("/_sim/faults", json={"latency_ms": 300})
    started = time.monotonic()
    assert (await pd.client.get("/priorities")).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    await pd.admin.get("/_sim/state")  # admin endpoints are never delayed
    assert time.monotonic() - started < 0.3
    await pd.admin.delete("/_sim/faults")
    # delay_ms bounds a random delay, drawn from the seeded RNG (re-seeded by the PUT).
    expected = random.Random(7).uniform(0, 400) / 1000
    assert expected > 0.1
    await pd.admin.put("/_sim/webhook-faults", json={"delay_ms": 400})
    started = time.monotonic()
    await pd.admin.post("/_sim/incidents", json={"title": "late"})
    [hook] = await pd.receiver.wait_for(1, within=3)
    assert time.monotonic() - started >= expected
    assert hook.json()["event"]["data"]["title"] == "late"
