"""PagerDuty simulator against a real uvicorn server and a real webhook receiver."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pdjira_devstack.waiting import wait_until
from pdjira_simulators.pagerduty import PagerDutySettings, create_app
from pdjira_simulators.testing import (
    WebhookReceiver,
    free_port,
    running_server,
    verify_pagerduty_signature,
)

from .conftest import Sim

FROM_MESSAGE = (
    'You must specify a user\'s email address in the "From" header to perform this action'
)


async def trigger(pd: Sim, title: str = "Checkout is down", **extra: Any) -> dict[str, Any]:
    resp = await pd.admin.post("/_sim/incidents", json={"title": title, **extra})
    assert resp.status_code == 201, resp.text
    incident: dict[str, Any] = resp.json()["incident"]
    return incident


def event_types(rx: WebhookReceiver) -> list[str]:
    return [b["event"]["event_type"] for b in rx.bodies()]


async def test_auth_is_required_and_exact(pd: Sim) -> None:
    no_auth = await pd.admin.get("/incidents")
    assert no_auth.status_code == 401
    assert no_auth.json() == {"error": {"message": "Authentication failed", "code": 2006}}
    wrong = await pd.admin.get("/incidents", headers={"Authorization": "Token token=nope"})
    assert wrong.status_code == 401
    malformed = await pd.admin.get("/incidents", headers={"Authorization": "test-pd-token"})
    assert malformed.status_code == 401
    ok = await pd.client.get("/incidents")
    assert ok.status_code == 200
    assert ok.headers["ratelimit-limit"] == "960"


async def test_get_missing_incident_is_404_with_code_2100(pd: Sim) -> None:
    resp = await pd.client.get("/incidents/QNOPE")
    assert resp.status_code == 404
    assert resp.json() == {"error": {"message": "Not Found", "code": 2100}}


async def test_triggered_incident_sends_signed_v3_webhook(pd: Sim) -> None:
    incident = await trigger(pd, urgency="low")
    assert incident["summary"] == f"[#{incident['incident_number']}] Checkout is down"
    assert incident["status"] == "triggered"
    assert incident["service"]["id"] == "PSVC001"
    assert incident["escalation_policy"]["id"] == "PEP0001"
    assert incident["priority"] is None
    assert incident["self"] == f"{pd.base_url}/incidents/{incident['id']}"

    [hook] = await pd.receiver.wait_for(1)
    assert hook.headers["content-type"] == "application/json"
    assert hook.headers["user-agent"] == "PagerDuty-Webhook/V3.0"
    assert hook.headers["x-webhook-subscription"]
    assert hook.headers["x-webhook-id"]
    assert verify_pagerduty_signature(pd.secret, hook.body, hook.headers["x-pagerduty-signature"])
    assert not verify_pagerduty_signature("other", hook.body, hook.headers["x-pagerduty-signature"])
    event = hook.json()["event"]
    assert event["event_type"] == "incident.triggered"
    assert event["resource_type"] == "incident"
    assert event["agent"]["id"] == "PUSER01"
    assert event["agent"]["type"] == "user_reference"
    assert event["client"] == {"name": "PagerDuty"}
    data = event["data"]
    assert data["id"] == incident["id"]
    assert data["type"] == "incident"
    assert data["number"] == incident["incident_number"]
    assert data["urgency"] == "low"
    assert data["assignees"][0]["id"] == "PUSER01"
    assert data["incident_key"] == incident["incident_key"]
    assert "incident_number" not in data
    assert "assignments" not in data


async def test_put_requires_a_valid_from_header(pd: Sim) -> None:
    incident = await trigger(pd)
    body = {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    headers = {"Authorization": "Token token=test-pd-token"}
    missing = await pd.admin.put(f"/incidents/{incident['id']}", json=body, headers=headers)
    assert missing.status_code == 400
    assert missing.json() == {"error": {"message": FROM_MESSAGE, "code": 2001}}
    unknown = await pd.admin.put(
        f"/incidents/{incident['id']}",
        json=body,
        headers={**headers, "From": "stranger@example.com"},
    )
    assert unknown.status_code == 400
    state = (await pd.client.get(f"/incidents/{incident['id']}")).json()["incident"]
    assert state["status"] == "triggered"

    ok = await pd.client.put(f"/incidents/{incident['id']}", json=body)
    assert ok.status_code == 200
    assert ok.json()["incident"]["status"] == "acknowledged"
    assert ok.json()["incident"]["acknowledgements"][0]["acknowledger"]["id"] == "PUSER02"
    hooks = await pd.receiver.wait_for(2)
    ack = hooks[1].json()["event"]
    assert ack["event_type"] == "incident.acknowledged"
    assert ack["agent"]["id"] == "PUSER02"  # the From user: our own echo is recognisable


async def test_same_status_changes_nothing_and_sends_nothing(pd: Sim) -> None:
    incident = await trigger(pd)
    await pd.receiver.wait_for(1)
    before = (await pd.client.get(f"/incidents/{incident['id']}")).json()["incident"]
    body = {"incident": {"type": "incident_reference", "status": "triggered"}}
    resp = await pd.client.put(f"/incidents/{incident['id']}", json=body)
    assert resp.status_code == 200
    assert resp.json()["incident"]["updated_at"] == before["updated_at"]
    await pd.settled()
    assert event_types(pd.receiver) == ["incident.triggered"]


async def test_status_lifecycle_webhooks_in_order(pd: Sim) -> None:
    incident = await trigger(pd)
    path = f"/_sim/incidents/{incident['id']}/status"
    for status in ("acknowledged", "triggered", "resolved", "triggered", "resolved"):
        resp = await pd.admin.post(path, json={"status": status, "as_user": "PUSER01"})
        assert resp.status_code == 200, resp.text
    await pd.receiver.wait_for(6)
    assert event_types(pd.receiver) == [
        "incident.triggered",
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.resolved",
        "incident.reopened",
        "incident.resolved",
    ]
    final = (await pd.client.get(f"/incidents/{incident['id']}")).json()["incident"]
    assert final["status"] == "resolved"
    assert final["assignments"] == []
    assert final["acknowledgements"] == []
    assert final["resolved_at"] is not None


async def test_retry_repeats_webhook_id_after_500(receiver: WebhookReceiver, pd: Sim) -> None:
    receiver.statuses = [500, 503]
    incident = await trigger(pd)
    hooks = await pd.receiver.wait_for(3)
    assert len({h.headers["x-webhook-id"] for h in hooks}) == 1
    assert len({h.json()["event"]["id"] for h in hooks}) == 1
    assert all(h.body == hooks[0].body for h in hooks)
    deliveries = (await pd.admin.get("/_sim/deliveries")).json()["deliveries"]
    assert [(d["attempt"], d["status_code"]) for d in deliveries] == [(1, 500), (2, 503), (3, 200)]
    assert deliveries[0]["incident_id"] == incident["id"]
    assert deliveries[0]["event_type"] == "incident.triggered"


async def test_4xx_other_than_429_is_dropped_but_429_retried(
    receiver: WebhookReceiver, pd: Sim
) -> None:
    receiver.statuses = [400]
    await trigger(pd, "first")
    await pd.settled()  # the 400 is not retried
    assert len(receiver.received) == 1
    receiver.statuses = [400, 429]
    await trigger(pd, "second")
    await receiver.wait_for(3)
    assert (
        receiver.received[1].headers["x-webhook-id"] == receiver.received[2].headers["x-webhook-id"]
    )


async def test_later_webhooks_wait_behind_a_retrying_one(
    receiver: WebhookReceiver, pd: Sim
) -> None:
    receiver.statuses = [500, 500, 500]
    incident = await trigger(pd)
    await pd.admin.post(f"/_sim/incidents/{incident['id']}/status", json={"status": "resolved"})
    await receiver.wait_for(5)
    assert event_types(receiver) == ["incident.triggered"] * 4 + ["incident.resolved"]


async def test_receiver_down_for_a_while_still_gets_the_event() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhook"
    settings = PagerDutySettings(
        token="t", webhook_url=url, webhook_secrets=("s",), webhook_retry_delay=0.05
    )
    app = create_app(settings)
    async with running_server(app) as base, httpx.AsyncClient(base_url=base) as admin:
        await admin.post("/_sim/incidents", json={"title": "while down"})

        async def failed_twice() -> list[dict[str, Any]] | None:
            attempts = (await admin.get("/_sim/deliveries")).json()["deliveries"]
            return attempts if len(attempts) >= 2 else None

        failed = await wait_until(failed_twice, timeout=10, what="two failed attempts")
        assert all(d["status_code"] is None for d in failed)
        rx = WebhookReceiver()
        async with running_server(rx_app(rx), port=port):
            await asyncio.wait_for(app.state.sim.dispatcher.idle(), timeout=10)
        assert rx.received, "event never delivered after the receiver came back"
        assert verify_pagerduty_signature(
            "s", rx.received[0].body, rx.received[0].headers["x-pagerduty-signature"]
        )


def rx_app(rx: WebhookReceiver) -> Any:
    """The receiver's app without its own server, to bind it to a chosen port."""
    from pdjira_simulators.testing import ReceivedWebhook
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def receive(request: Request) -> Response:
        rx.received.append(
            ReceivedWebhook(dict(request.headers), await request.body(), request.url.path)
        )
        return Response(status_code=202)

    return Starlette(routes=[Route("/webhook", receive, methods=["POST"])])


async def test_rotation_signs_with_every_secret(pd: Sim) -> None:
    resp = await pd.admin.put(
        "/_sim/webhook-target", json={"url": pd.receiver.url, "secrets": ["old", "new"]}
    )
    assert resp.status_code == 200
    await trigger(pd)
    [hook] = await pd.receiver.wait_for(1)
    signature = hook.headers["x-pagerduty-signature"]
    assert signature.count("v1=") == 2
    assert verify_pagerduty_signature("old", hook.body, signature)
    assert verify_pagerduty_signature("new", hook.body, signature)


async def test_notes_and_annotated_webhook(pd: Sim) -> None:
    incident = await trigger(pd)
    headers = {"Authorization": "Token token=test-pd-token"}
    no_from = await pd.admin.post(
        f"/incidents/{incident['id']}/notes", json={"note": {"content": "x"}}, headers=headers
    )
    assert no_from.status_code == 400
    resp = await pd.client.post(
        f"/incidents/{incident['id']}/notes", json={"note": {"content": "Firefighters here"}}
    )
    assert resp.status_code == 200
    note = resp.json()["note"]
    assert note["content"] == "Firefighters here"
    assert note["user"]["id"] == "PUSER02"
    await pd.admin.post(f"/_sim/incidents/{incident['id']}/notes", json={"content": "from UI"})
    hooks = await pd.receiver.wait_for(3)
    annotated = hooks[1].json()["event"]
    assert annotated["event_type"] == "incident.annotated"
    assert annotated["data"] == {
        "incident": annotated["data"]["incident"],
        "id": note["id"],
        "content": "Firefighters here",
        "trimmed": False,
        "type": "incident_note",
    }
    assert annotated["data"]["incident"]["id"] == incident["id"]
    assert hooks[2].json()["event"]["agent"]["id"] == "PUSER01"
    notes = (await pd.client.get(f"/incidents/{incident['id']}/notes")).json()["notes"]
    assert [n["content"] for n in notes] == ["Firefighters here", "from UI"]


async def test_priority_update_webhook_and_rest_create(pd: Sim) -> None:
    resp = await pd.client.post(
        "/incidents",
        json={
            "incident": {
                "type": "incident",
                "title": "From Jira",
                "service": {"id": "PSVC001", "type": "service_reference"},
                "incident_key": "OPS-1",
            }
        },
    )
    assert resp.status_code == 201, resp.text
    incident = resp.json()["incident"]
    dup = await pd.client.post(
        "/incidents",
        json={
            "incident": {
                "type": "incident",
                "title": "again",
                "service": {"id": "PSVC001", "type": "service_reference"},
                "incident_key": "OPS-1",
            }
        },
    )
    assert dup.status_code == 400
    body = {
        "incident": {
            "type": "incident_reference",
            "priority": {"id": "PPRI002", "type": "priority_reference"},
        }
    }
    updated = await pd.client.put(f"/incidents/{incident['id']}", json=body)
    assert updated.json()["incident"]["priority"]["name"] == "P2"
    hooks = await pd.receiver.wait_for(2)
    first, second = (h.json()["event"] for h in hooks)
    assert first["event_type"] == "incident.triggered"
    assert first["agent"]["id"] == "PUSER02"
    assert second["event_type"] == "incident.priority_updated"
    assert second["data"]["priority"]["id"] == "PPRI002"
    assert second["data"]["priority"]["type"] == "priority_reference"
    bad = await pd.client.put(
        f"/incidents/{incident['id']}",
        json={"incident": {"type": "incident_reference", "priority": {"id": "NOPE"}}},
    )
    assert bad.status_code == 400
    half = await pd.client.put(
        f"/incidents/{incident['id']}",
        json={"incident": {"type": "incident_reference", "status": "resolved", "title": " "}},
    )
    assert half.status_code == 400
    current = (await pd.client.get(f"/incidents/{incident['id']}")).json()["incident"]
    assert current["status"] == "triggered"  # a 400 never half-applies an update


async def test_request_log_counts_vendor_calls(pd: Sim) -> None:
    incident = await trigger(pd)
    await pd.client.get(f"/incidents/{incident['id']}")
    await pd.client.put(
        f"/incidents/{incident['id']}",
        json={"incident": {"type": "incident_reference", "status": "resolved"}},
    )
    log = (await pd.admin.get("/_sim/requests")).json()["requests"]
    assert [(r["method"], r["status"], r["from"]) for r in log] == [
        ("GET", 200, "pdjira-bot@example.com"),
        ("PUT", 200, "pdjira-bot@example.com"),
    ]
    assert log[1]["path"] == f"/incidents/{incident['id']}"
    await pd.admin.delete("/_sim/requests")
    assert (await pd.admin.get("/_sim/requests")).json()["requests"] == []


async def test_lists_filters_and_pagination(pd: Sim) -> None:
    first = await trigger(pd, "one")
    await trigger(pd, "two")
    await pd.admin.post(f"/_sim/incidents/{first['id']}/status", json={"status": "resolved"})
    resp = await pd.client.get("/incidents", params={"statuses[]": ["triggered"]})
    assert [i["title"] for i in resp.json()["incidents"]] == ["two"]
    page = (await pd.client.get("/incidents", params={"limit": 1, "total": "true"})).json()
    assert page["limit"] == 1
    assert page["more"] is True
    assert page["total"] == 2
    clamped = (await pd.client.get("/incidents", params={"limit": 500})).json()
    assert clamped["limit"] == 100
    too_far = await pd.client.get("/incidents", params={"offset": 9950, "limit": 100})
    assert too_far.status_code == 400
    users = (await pd.client.get("/users", params={"query": "pdjira-bot"})).json()["users"]
    assert [u["id"] for u in users] == ["PUSER02"]
    services = (await pd.client.get("/services")).json()["services"]
    assert services[0]["id"] == "PSVC001"
    assert services[0]["name"] == "Checkout API"
    priorities = (await pd.client.get("/priorities")).json()["priorities"]
    assert [p["id"] for p in priorities] == [f"PPRI00{i}" for i in range(1, 6)]


async def test_webhook_subscription_api(pd: Sim, receiver: WebhookReceiver) -> None:
    async with WebhookReceiver() as other:
        resp = await pd.client.post(
            "/webhook_subscriptions",
            json={
                "webhook_subscription": {
                    "type": "webhook_subscription",
                    "delivery_method": {"type": "http_delivery_method", "url": other.url},
                    "events": ["incident.triggered"],
                    "filter": {"type": "service_reference", "id": "PSVC001"},
                }
            },
        )
        assert resp.status_code == 200
        sub = resp.json()["webhook_subscription"]
        secret = sub["delivery_method"]["secret"]
        assert secret
        listed = (await pd.client.get("/webhook_subscriptions")).json()["webhook_subscriptions"]
        assert {s["id"] for s in listed} >= {sub["id"]}
        assert all(s["delivery_method"]["secret"] is None for s in listed)
        await trigger(pd)
        [hook] = await other.wait_for(1)
        assert hook.headers["x-webhook-subscription"] == sub["id"]
        assert verify_pagerduty_signature(secret, hook.body, hook.headers["x-pagerduty-signature"])
        [main] = await receiver.wait_for(1)
        # Same event, separate webhook per subscription.
        assert main.json()["event"]["id"] == hook.json()["event"]["id"]
        assert main.headers["x-webhook-id"] != hook.headers["x-webhook-id"]
        assert (await pd.client.delete(f"/webhook_subscriptions/{sub['id']}")).status_code == 204
        assert (await pd.client.get(f"/webhook_subscriptions/{sub['id']}")).status_code == 404


async def test_faults_error_rate_and_response_delay(pd: Sim) -> None:
    await pd.admin.put("/_sim/faults", json={"error_rate": 1.0})
    failed = await pd.client.get("/incidents")
    assert failed.status_code == 503
    assert (await pd.admin.get("/health")).status_code == 200
    incident = await trigger(pd)  # admin endpoints are never faulted
    await pd.admin.put("/_sim/faults", json={"response_delay_ms": 1000})
    with pytest.raises(httpx.ReadTimeout):
        await pd.client.put(
            f"/incidents/{incident['id']}",
            json={"incident": {"type": "incident_reference", "status": "acknowledged"}},
            timeout=0.3,
        )
    await pd.admin.delete("/_sim/faults")
    current = (await pd.client.get(f"/incidents/{incident['id']}")).json()["incident"]
    assert current["status"] == "acknowledged"  # written, just never acknowledged to us


async def test_fault_error_rate_is_deterministic_under_seed(pd: Sim) -> None:
    async def pattern() -> list[int]:
        await pd.admin.put("/_sim/faults", json={"error_rate": 0.5, "paths": ["/incidents"]})
        return [(await pd.client.get("/incidents")).status_code for _ in range(12)]

    first, second = await pattern(), await pattern()
    assert first == second
    assert set(first) == {200, 503}
    assert (await pd.client.get("/priorities")).status_code == 200  # path not faulted


async def test_rate_limit_429_with_headers(pd: Sim) -> None:
    await pd.admin.put("/_sim/ratelimit", json={"limit": 2, "window_seconds": 60})
    assert (await pd.client.get("/priorities")).headers["ratelimit-remaining"] == "1"
    assert (await pd.client.get("/priorities")).status_code == 200
    limited = await pd.client.get("/priorities")
    assert limited.status_code == 429
    assert limited.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    assert limited.headers["ratelimit-limit"] == "2"
    assert limited.headers["ratelimit-remaining"] == "0"
    assert 0 < int(limited.headers["ratelimit-reset"]) <= 60


async def test_bulk_update_and_413(pd: Sim) -> None:
    a, b = await trigger(pd, "a"), await trigger(pd, "b")
    resp = await pd.client.put(
        "/incidents",
        json={
            "incidents": [
                {"id": a["id"], "type": "incident_reference", "status": "acknowledged"},
                {"id": b["id"], "type": "incident_reference", "status": "resolved"},
            ]
        },
    )
    assert resp.status_code == 200
    assert [i["status"] for i in resp.json()["incidents"]] == ["acknowledged", "resolved"]
    too_many = [{"id": a["id"], "type": "incident_reference"}] * 251
    big = await pd.client.put("/incidents", json={"incidents": too_many})
    assert big.status_code == 413


async def test_accept_header_version_is_checked(pd: Sim) -> None:
    resp = await pd.client.get(
        "/priorities", headers={"Accept": "application/vnd.pagerduty+json;version=1"}
    )
    assert resp.status_code == 400
