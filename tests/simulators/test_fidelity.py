"""Phase-2 fidelity: Events API v2, webhook chaos, Jira rate limits, createmeta, links,
properties."""

from __future__ import annotations

from typing import Any

from pdjira_simulators.pagerduty.state import DEFAULT_ROUTING_KEY
from pdjira_simulators.testing import WebhookReceiver

from .conftest import Sim


def event(action: str, dedup: str | None = None, **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"routing_key": DEFAULT_ROUTING_KEY, "event_action": action}
    if dedup is not None:
        body["dedup_key"] = dedup
    if action == "trigger":
        body["payload"] = {
            "summary": "CPU high",
            "source": "db-1",
            "severity": "critical",
            **payload,
        }
    return body


async def test_events_api_v2_dedup_and_lifecycle(pd: Sim) -> None:
    first = await pd.admin.post("/v2/enqueue", json=event("trigger", "db-1/cpu"))
    assert first.status_code == 202
    assert first.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "db-1/cpu",
    }
    again = await pd.admin.post("/v2/enqueue", json=event("trigger", "db-1/cpu"))
    assert again.status_code == 202
    incidents = (await pd.client.get("/incidents")).json()["incidents"]
    assert len(incidents) == 1  # same dedup_key on an open incident: one incident
    assert incidents[0]["incident_key"] == "db-1/cpu"
    assert incidents[0]["urgency"] == "high"
    # REST names the integration's service (AgentReference has no inbound integration type).
    assert incidents[0]["last_status_change_by"]["type"] == "service_reference"
    assert incidents[0]["last_status_change_by"]["id"] == "PSVC001"
    await pd.admin.post("/v2/enqueue", json=event("acknowledge", "db-1/cpu"))
    await pd.admin.post("/v2/enqueue", json=event("resolve", "db-1/cpu"))
    await pd.admin.post("/v2/enqueue", json=event("resolve", "db-1/cpu"))  # dropped
    hooks = await pd.receiver.wait_for(3)
    assert [h.json()["event"]["event_type"] for h in hooks] == [
        "incident.triggered",
        "incident.acknowledged",
        "incident.resolved",
    ]
    agent = hooks[0].json()["event"]["agent"]
    assert agent["type"] == "inbound_integration_reference"
    generated = await pd.admin.post("/v2/enqueue", json=event("trigger"))
    assert len(generated.json()["dedup_key"]) == 32

    bad = await pd.admin.post("/v2/enqueue", json={**event("trigger"), "payload": {}})
    assert bad.status_code == 400
    assert bad.json()["status"] == "invalid event"
    wrong_key = await pd.admin.post(
        "/v2/enqueue", json={**event("trigger"), "routing_key": "X" * 32}
    )
    assert wrong_key.status_code == 400
    no_dedup = await pd.admin.post("/v2/enqueue", json=event("resolve"))
    assert no_dedup.status_code == 400


async def test_pd_webhook_faults_duplicate_keeps_webhook_id(pd: Sim) -> None:
    await pd.admin.put("/_sim/webhook-faults", json={"duplicate_rate": 1.0})
    await pd.admin.post("/_sim/incidents", json={"title": "dup"})
    hooks = await pd.receiver.wait_for(2)
    assert hooks[0].headers["x-webhook-id"] == hooks[1].headers["x-webhook-id"]
    assert hooks[0].body == hooks[1].body


async def test_pd_webhook_faults_drop_and_reorder(pd: Sim) -> None:
    await pd.admin.put("/_sim/webhook-faults", json={"drop_rate": 1.0})
    created = (await pd.admin.post("/_sim/incidents", json={"title": "lost"})).json()
    await pd.settled()
    assert pd.receiver.received == []
    state = (await pd.admin.get("/_sim/webhook-faults")).json()
    assert state["dropped"] == 1
    activity = (await pd.admin.get("/_sim/webhook-activity")).json()
    assert activity == {"queued": 0, "submitted": 1, "attempts": 0, "held": 0}
    await pd.admin.put("/_sim/webhook-faults", json={"reorder_rate": 1.0})
    path = f"/_sim/incidents/{created['incident']['id']}/status"
    await pd.admin.post(path, json={"status": "acknowledged"})  # held back
    await pd.admin.post(path, json={"status": "resolved"})  # sent, then the held one
    hooks = await pd.receiver.wait_for(2)
    assert [h.json()["event"]["event_type"] for h in hooks] == [
        "incident.resolved",
        "incident.acknowledged",
    ]


async def test_pd_webhook_faults_held_webhook_released_on_clear(pd: Sim) -> None:
    await pd.admin.put("/_sim/webhook-faults", json={"reorder_rate": 1.0})
    await pd.admin.post("/_sim/incidents", json={"title": "held"})
    await pd.settled()
    assert pd.receiver.received == []
    assert (await pd.admin.get("/_sim/webhook-activity")).json()["held"] == 1
    await pd.admin.delete("/_sim/webhook-faults")
    [hook] = await pd.receiver.wait_for(1)
    assert hook.json()["event"]["event_type"] == "incident.triggered"


async def test_jira_webhook_drop_is_reproducible_under_seed(jira: Sim) -> None:
    async def run(offset: int) -> list[int]:
        await jira.admin.put("/_sim/webhook-faults", json={"drop_rate": 0.5, "delay_ms": 20})
        for i in range(8):
            await jira.admin.post("/_sim/issues", json={"summary": f"issue {offset + i}"})
        await jira.settled()
        summaries = [b["issue"]["fields"]["summary"] for b in jira.receiver.bodies()]
        return [i for i in range(8) if f"issue {offset + i}" in summaries]

    first, second = await run(0), await run(100)
    assert 0 < len(first) < 8
    assert first == second  # the PUT re-seeds: same events survive
    dropped = (await jira.admin.get("/_sim/webhook-faults")).json()["dropped"]
    assert dropped == 16 - 2 * len(first)


async def test_jira_rate_limit_token_bucket(jira: Sim) -> None:
    resp = await jira.admin.put(
        "/_sim/ratelimit",
        json={"capacity": 2, "fill_rate": 1, "interval_seconds": 60, "exempt": ["jdoe"]},
    )
    assert resp.json()["enabled"] is True
    ok = await jira.client.get("/priority")
    assert ok.status_code == 200
    assert ok.headers["x-ratelimit-limit"] == "2"
    assert ok.headers["x-ratelimit-remaining"] == "1"
    assert ok.headers["x-ratelimit-fillrate"] == "1"
    assert ok.headers["x-ratelimit-interval-seconds"] == "60"
    assert (await jira.client.get("/priority")).status_code == 200
    limited = await jira.client.get("/priority")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert limited.headers["x-ratelimit-remaining"] == "0"
    exempt = await jira.admin.get("/rest/api/2/priority", auth=("jdoe", "jdoe"))
    assert exempt.status_code == 200
    assert "x-ratelimit-limit" not in exempt.headers
    await jira.admin.delete("/_sim/ratelimit")
    assert (await jira.client.get("/priority")).status_code == 200


async def test_createmeta_and_required_custom_field(jira: Sim) -> None:
    types = (await jira.client.get("/issue/createmeta/OPS/issuetypes")).json()
    assert types["total"] == 3
    assert {t["name"] for t in types["values"]} == {"Task", "Bug", "Incident"}
    await jira.admin.put(
        "/_sim/create-requirements",
        json={"project": "OPS", "issuetype": "Incident", "fields": ["customfield_10102"]},
    )
    meta = (await jira.client.get("/issue/createmeta/OPS/issuetypes/10005")).json()
    fields = {f["fieldId"]: f for f in meta["values"]}
    assert fields["customfield_10102"]["required"] is True
    assert fields["customfield_10102"]["name"] == "Impacted Service"
    assert fields["summary"]["required"] is True
    assert fields["labels"]["required"] is False
    task_meta = (await jira.client.get("/issue/createmeta/OPS/issuetypes/10002")).json()
    assert {f["fieldId"]: f for f in task_meta["values"]}["customfield_10102"]["required"] is False
    base = {"project": {"key": "OPS"}, "issuetype": {"name": "Incident"}, "summary": "x"}
    missing = await jira.client.post("/issue", json={"fields": base})
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"customfield_10102": "Impacted Service is required."}
    ok = await jira.client.post(
        "/issue", json={"fields": {**base, "customfield_10102": "checkout"}}
    )
    assert ok.status_code == 201


async def test_remote_links_upsert_by_global_id(jira: Sim) -> None:
    key = (await jira.admin.post("/_sim/issues", json={"summary": "x"})).json()["key"]
    obj = {"url": "https://pd.example/incidents/Q1", "title": "Q1"}
    link: dict[str, Any] = {
        "globalId": "pagerduty:incident:Q1",
        "application": {"name": "PagerDuty"},
        "relationship": "mentioned in",
        "object": obj,
    }
    created = await jira.client.post(f"/issue/{key}/remotelink", json=link)
    assert created.status_code == 201
    assert created.json()["id"]
    updated = await jira.client.post(
        f"/issue/{key}/remotelink", json={**link, "object": {**obj, "title": "Q1 (resolved)"}}
    )
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    listed = (await jira.client.get(f"/issue/{key}/remotelink")).json()
    assert [lk["object"]["title"] for lk in listed] == ["Q1 (resolved)"]
    one = await jira.client.get(
        f"/issue/{key}/remotelink", params={"globalId": "pagerduty:incident:Q1"}
    )
    assert one.json()["globalId"] == "pagerduty:incident:Q1"
    bad = await jira.client.post(f"/issue/{key}/remotelink", json={"object": {}})
    assert bad.status_code == 400


async def test_issue_properties(jira: Sim) -> None:
    resp = await jira.client.post(
        "/issue",
        json={
            "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"},
            "properties": [{"key": "pagerduty", "value": {"incidentId": "Q1"}}],
        },
    )
    key = resp.json()["key"]
    got = await jira.client.get(f"/issue/{key}/properties/pagerduty")
    assert got.json() == {"key": "pagerduty", "value": {"incidentId": "Q1"}}
    put = await jira.client.put(f"/issue/{key}/properties/other", json={"a": 1})
    assert put.status_code == 201
    put_again = await jira.client.put(f"/issue/{key}/properties/other", json={"a": 2})
    assert put_again.status_code == 200
    keys = (await jira.client.get(f"/issue/{key}/properties")).json()["keys"]
    assert [k["key"] for k in keys] == ["pagerduty", "other"]
    with_props = (await jira.client.get(f"/issue/{key}", params={"properties": "pagerduty"})).json()
    assert with_props["properties"] == {"pagerduty": {"incidentId": "Q1"}}
    assert (await jira.client.get(f"/issue/{key}/properties/nope")).status_code == 404


async def test_jira_webhook_to_down_receiver_is_dropped(
    jira: Sim, receiver: WebhookReceiver
) -> None:
    await jira.admin.put(
        "/_sim/webhook-target", json={"url": "http://127.0.0.1:9/nothing", "secret": None}
    )
    await jira.admin.post("/_sim/issues", json={"summary": "lost"})
    await jira.settled()  # attempted once, and not retried: Jira DC never retries
    deliveries = (await jira.admin.get("/_sim/deliveries")).json()["deliveries"]
    assert len(deliveries) == 1
    assert deliveries[0]["status_code"] is None
    assert deliveries[0]["error"]
    assert receiver.received == []


async def test_pd_subscription_disabled_after_three_drops(
    pd: Sim, receiver: WebhookReceiver
) -> None:
    receiver.default_status = 403  # e.g. a receiver that rejects our signature
    for title in ("a", "b", "c"):
        await pd.admin.post("/_sim/incidents", json={"title": title})
    await receiver.wait_for(3)
    await pd.admin.post("/_sim/incidents", json={"title": "d"})
    await pd.settled()
    assert len(receiver.received) == 3  # the 4th is dropped without an attempt
    deliveries = (await pd.admin.get("/_sim/deliveries")).json()["deliveries"]
    assert deliveries[-1]["error"] == "subscription temporarily disabled"
    sub = (await pd.client.get("/webhook_subscriptions/PSIMWHK")).json()["webhook_subscription"]
    assert sub["delivery_method"]["temporarily_disabled"] is True
    receiver.default_status = 202
    enabled = await pd.client.post("/webhook_subscriptions/PSIMWHK/enable")
    assert enabled.json()["webhook_subscription"]["delivery_method"]["temporarily_disabled"] is (
        False
    )
    await pd.admin.post("/_sim/incidents", json={"title": "e"})
    hooks = await receiver.wait_for(4)
    assert hooks[-1].json()["event"]["data"]["title"] == "e"
