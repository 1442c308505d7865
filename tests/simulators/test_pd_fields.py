"""PagerDuty simulator: priority, urgency and responder requests over REST, and the v3 webhook
incident data they produce (shape of the devdocs examples)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pdjira_simulators.contract import SpecChecker, find_specs_dir

from .conftest import Sim

# Keys of a v3 webhook `incident` data object (devdocs incident.priority_updated example).
WEBHOOK_INCIDENT_KEYS = {
    "id",
    "type",
    "self",
    "html_url",
    "number",
    "status",
    "incident_key",
    "created_at",
    "title",
    "service",
    "assignees",
    "escalation_policy",
    "teams",
    "priority",
    "urgency",
    "conference_bridge",
    "resolve_reason",
    "incident_type",
}
REFERENCE_KEYS = {"id", "type", "summary", "self", "html_url"}


def ref(kind: str, id_: str) -> dict[str, str]:
    return {"id": id_, "type": f"{kind}_reference"}


async def new_incident(pd: Sim, **extra: Any) -> str:
    created = await pd.admin.post("/_sim/incidents", json={"title": "Checkout down", **extra})
    assert created.status_code == 201, created.text
    incident_id: str = created.json()["incident"]["id"]
    return incident_id


async def put(pd: Sim, incident_id: str, **fields: Any) -> httpx.Response:
    body = {"incident": {"type": "incident_reference", **fields}}
    return await pd.client.put(f"/incidents/{incident_id}", json=body)


async def webhooks_after_trigger(pd: Sim, count: int) -> list[dict[str, Any]]:
    """The `event` of every webhook after the incident.triggered one."""
    await pd.receiver.wait_for(count + 1)
    await pd.sim.dispatcher.idle()
    events = [h.json()["event"] for h in pd.receiver.received]
    assert events[0]["event_type"] == "incident.triggered"
    return events[1:]


# ----------------------------------------------------------------------------- priority


async def test_priorities_are_listed_p1_to_p5_with_ids(pd: Sim) -> None:
    resp = await pd.client.get("/priorities")

    assert resp.status_code == 200
    priorities = resp.json()["priorities"]
    assert [(p["id"], p["name"], p["summary"]) for p in priorities] == [
        (f"PPRI00{i}", f"P{i}", f"P{i}") for i in range(1, 6)
    ]
    assert all(p["type"] == "priority" and p["description"] for p in priorities)
    assert [p["order"] for p in priorities] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("priority", "expected_id", "expected_name"),
    [
        pytest.param(ref("priority", "PPRI001"), "PPRI001", "P1", id="P1-by-reference"),
        pytest.param(ref("priority", "PPRI003"), "PPRI003", "P3", id="P3-by-reference"),
        pytest.param(ref("priority", "PPRI005"), "PPRI005", "P5", id="P5-by-reference"),
        pytest.param({"id": "PPRI002", "type": "priority"}, "PPRI002", "P2", id="type-priority"),
    ],
)
async def test_put_priority_sends_priority_updated_with_the_new_priority(
    pd: Sim, priority: dict[str, str], expected_id: str, expected_name: str
) -> None:
    incident_id = await new_incident(pd)

    resp = await put(pd, incident_id, priority=priority)

    assert resp.status_code == 200, resp.text
    assert resp.json()["incident"]["priority"]["id"] == expected_id
    (event,) = await webhooks_after_trigger(pd, 1)
    assert event["event_type"] == "incident.priority_updated"
    assert event["agent"]["id"] == "PUSER02"  # the From user
    data = event["data"]
    assert set(data) == WEBHOOK_INCIDENT_KEYS
    assert data["priority"]["id"] == expected_id
    assert data["priority"]["summary"] == expected_name
    assert data["priority"]["type"] == "priority_reference"
    assert set(data["priority"]) == REFERENCE_KEYS


async def test_removing_and_repeating_a_priority(pd: Sim) -> None:
    incident_id = await new_incident(pd, priority="P2")

    same = await put(pd, incident_id, priority=ref("priority", "PPRI002"))
    removed = await put(pd, incident_id, priority=None)

    assert same.status_code == removed.status_code == 200
    assert removed.json()["incident"]["priority"] is None
    (event,) = await webhooks_after_trigger(pd, 1)  # the same priority sent nothing
    assert event["event_type"] == "incident.priority_updated"
    assert event["data"]["priority"] is None


async def test_webhook_incident_data_looks_like_pagerduty_s(pd: Sim) -> None:
    incident_id = await new_incident(pd, urgency="low")
    await put(pd, incident_id, priority=ref("priority", "PPRI001"))

    (event,) = await webhooks_after_trigger(pd, 1)

    data = event["data"]
    assert set(data) == WEBHOOK_INCIDENT_KEYS
    assert (data["id"], data["type"], data["status"], data["urgency"]) == (
        incident_id,
        "incident",
        "triggered",
        "low",
    )
    assert data["self"].endswith(f"/incidents/{incident_id}")
    assert data["html_url"].endswith(f"/incidents/{incident_id}")
    assert isinstance(data["number"], int)
    assert data["created_at"].endswith("Z")
    assert data["title"] == "Checkout down"
    assert data["service"]["id"] == "PSVC001"
    assert data["service"]["summary"] == "Checkout API"
    assert data["service"]["type"] == "service_reference"
    assert set(data["service"]) == REFERENCE_KEYS
    assert [(a["id"], a["type"], a["summary"]) for a in data["assignees"]] == [
        ("PUSER01", "user_reference", "Pat Oncall")
    ]
    assert set(data["assignees"][0]) == REFERENCE_KEYS
    assert data["escalation_policy"]["id"] == "PEP0001"
    assert data["escalation_policy"]["type"] == "escalation_policy_reference"
    assert data["teams"] == []
    assert data["resolve_reason"] is None
    assert data["conference_bridge"] is None


# ----------------------------------------------------------------------------- urgency


@pytest.mark.parametrize(("start", "target"), [("high", "low"), ("low", "high")])
async def test_put_urgency_changes_it_logs_it_and_sends_no_webhook(
    pd: Sim, start: str, target: str
) -> None:
    incident_id = await new_incident(pd, urgency=start)

    resp = await put(pd, incident_id, urgency=target)

    assert resp.status_code == 200, resp.text
    assert resp.json()["incident"]["urgency"] == target
    fetched = (await pd.client.get(f"/incidents/{incident_id}")).json()["incident"]
    assert fetched["urgency"] == target
    entries = (await pd.client.get(f"/incidents/{incident_id}/log_entries")).json()
    newest = entries["log_entries"][0]
    assert newest["type"] == "urgency_change_log_entry"
    assert newest["summary"] == f"Urgency changed from {start} to {target} by Integration Bot"
    assert await webhooks_after_trigger(pd, 0) == []  # PagerDuty has no urgency event


@pytest.mark.parametrize("urgency", ["medium", "HIGH", ""])
async def test_put_invalid_urgency_is_400(pd: Sim, urgency: str) -> None:
    incident_id = await new_incident(pd)

    resp = await put(pd, incident_id, urgency=urgency)

    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == 2001


# ----------------------------------------------------------------------------- responders


def responder_body(*targets: dict[str, str], requester: str = "PUSER02") -> dict[str, Any]:
    return {
        "requester_id": requester,
        "message": "Please join the bridge",
        "responder_request_targets": [{"responder_request_target": t} for t in targets],
    }


@pytest.mark.parametrize(
    ("target", "responder_user", "policy"),
    [
        pytest.param(ref("user", "PUSER01"), "PUSER01", None, id="user"),
        pytest.param(ref("escalation_policy", "PEP0002"), "PUSER02", "PEP0002", id="policy"),
    ],
)
async def test_responder_request_adds_a_responder_and_sends_responder_added(
    pd: Sim, target: dict[str, str], responder_user: str, policy: str | None
) -> None:
    incident_id = await new_incident(pd)

    resp = await pd.client.post(
        f"/incidents/{incident_id}/responder_requests", json=responder_body(target)
    )

    assert resp.status_code == 200, resp.text
    specs = find_specs_dir()
    assert specs is not None
    SpecChecker.pagerduty(specs).check(resp)
    request = resp.json()["responder_request"]
    assert request["incident"]["id"] == incident_id
    assert request["requester"]["id"] == "PUSER02"
    assert request["message"] == "Please join the bridge"
    (entry,) = request["responder_request_targets"]
    requested = entry["responder_request_target"]
    assert (requested["id"], requested["type"]) == (
        target["id"],
        target["type"][: -len("_reference")],
    )
    assert [(r["user"]["id"], r["state"]) for r in requested["incidents_responders"]] == [
        (responder_user, "pending")
    ]
    incident = (await pd.client.get(f"/incidents/{incident_id}")).json()["incident"]
    assert [(r["user"]["id"], r["state"]) for r in incident["incidents_responders"]] == [
        (responder_user, "pending")
    ]
    assert [r["id"] for r in incident["responder_requests"]] == [request["id"]]
    assert (
        incident["responder_requests"][0]["responder_request_targets"]
        == (request["responder_request_targets"])
    )
    (event,) = await webhooks_after_trigger(pd, 1)
    assert event["event_type"] == "incident.responder.added"
    assert event["agent"]["id"] == "PUSER02"  # the requester
    data = event["data"]
    assert (data["type"], data["state"], data["user"]["id"]) == (
        "incident_responder",
        "pending",
        responder_user,
    )
    assert data["incident"]["id"] == incident_id
    assert data["message"] == "Please join the bridge"
    assert (data["escalation_policy"] or {}).get("id") == policy


async def test_responder_request_for_two_users_sends_one_event_each(pd: Sim) -> None:
    incident_id = await new_incident(pd)

    resp = await pd.client.post(
        f"/incidents/{incident_id}/responder_requests",
        json=responder_body(ref("user", "PUSER01"), ref("user", "PUSER02")),
    )

    assert resp.status_code == 200, resp.text
    events = await webhooks_after_trigger(pd, 2)
    assert [(e["event_type"], e["data"]["user"]["id"]) for e in events] == [
        ("incident.responder.added", "PUSER01"),
        ("incident.responder.added", "PUSER02"),
    ]


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        pytest.param(lambda b: b.pop("requester_id"), 2011, id="no-requester"),
        pytest.param(lambda b: b.pop("message"), 2003, id="no-message"),
        pytest.param(lambda b: b.update(requester_id="PNOBODY"), 1008, id="unknown-requester"),
        pytest.param(lambda b: b.update(responder_request_targets=[]), 2001, id="no-targets"),
        pytest.param(
            lambda b: b.update(
                responder_request_targets=[{"responder_request_target": ref("user", "PNOBODY")}]
            ),
            2013,
            id="unknown-user",
        ),
        pytest.param(
            lambda b: b.update(
                responder_request_targets=[
                    {"responder_request_target": ref("escalation_policy", "PNOPE")}
                ]
            ),
            1014,
            id="unknown-policy",
        ),
        pytest.param(
            lambda b: b.update(
                responder_request_targets=[{"responder_request_target": ref("team", "PT1")}]
            ),
            2001,
            id="team-target",
        ),
    ],
)
async def test_bad_responder_request_is_400_and_changes_nothing(
    pd: Sim, mutate: Any, code: int
) -> None:
    incident_id = await new_incident(pd)
    body = responder_body(ref("user", "PUSER01"))
    mutate(body)

    resp = await pd.client.post(f"/incidents/{incident_id}/responder_requests", json=body)

    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == code
    incident = (await pd.client.get(f"/incidents/{incident_id}")).json()["incident"]
    assert (incident["incidents_responders"], incident["responder_requests"]) == ([], [])
    assert await webhooks_after_trigger(pd, 0) == []


async def test_responder_request_on_resolved_or_missing_incident(pd: Sim) -> None:
    incident_id = await new_incident(pd)
    assert (await put(pd, incident_id, status="resolved")).status_code == 200
    body = responder_body(ref("user", "PUSER01"))

    resolved = await pd.client.post(f"/incidents/{incident_id}/responder_requests", json=body)
    missing = await pd.client.post("/incidents/QNOPE/responder_requests", json=body)

    assert resolved.status_code == 400
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == 2100


async def test_responder_reply_updates_the_request_target(pd: Sim) -> None:
    incident_id = await new_incident(pd)
    await pd.client.post(
        f"/incidents/{incident_id}/responder_requests", json=responder_body(ref("user", "PUSER01"))
    )

    await pd.admin.post(
        f"/_sim/incidents/{incident_id}/responders/PUSER01/reply", json={"accept": False}
    )

    incident = (await pd.client.get(f"/incidents/{incident_id}")).json()["incident"]
    target = incident["responder_requests"][0]["responder_request_targets"][0]
    assert target["responder_request_target"]["incidents_responders"][0]["state"] == "declined"
