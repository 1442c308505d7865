"""The simulators' real webhooks normalize: what ingest receives in tests and the demo is what
it receives in production, so every event type the rules use must come through whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pdjira_common.contracts import IncidentEvent, IssueEvent
from pdjira_common.facts import FieldValue, JiraRef, PdRef
from pdjira_ingest.normalize import normalize_jira, normalize_pagerduty
from pdjira_simulators.jira import JiraSettings
from pdjira_simulators.jira import create_app as create_jira
from pdjira_simulators.pagerduty import PagerDutySettings
from pdjira_simulators.pagerduty import create_app as create_pd
from pdjira_simulators.testing import WebhookReceiver, running_server


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as rx:
        yield rx


@pytest.fixture
async def pd(receiver: WebhookReceiver) -> AsyncIterator[httpx.AsyncClient]:
    app = create_pd(PagerDutySettings(token="t", webhook_url=receiver.url, seed=3))
    headers = {"Authorization": "Token token=t", "From": "pdjira-bot@example.com"}
    async with (
        running_server(app) as base,
        httpx.AsyncClient(base_url=base, headers=headers, trust_env=False) as client,
    ):
        yield client


@pytest.fixture
async def jira(receiver: WebhookReceiver) -> AsyncIterator[httpx.AsyncClient]:
    app = create_jira(JiraSettings(webhook_url=receiver.url, seed=3))
    async with (
        running_server(app) as base,
        httpx.AsyncClient(
            base_url=f"{base}/rest/api/2", auth=("admin", "admin"), trust_env=False
        ) as client,
    ):
        yield client


def ref(kind: str, id_: str) -> dict[str, str]:
    return {"id": id_, "type": f"{kind}_reference"}


async def put(pd: httpx.AsyncClient, incident_id: str, **fields: Any) -> None:
    resp = await pd.put(
        f"/incidents/{incident_id}", json={"incident": {"type": "incident_reference", **fields}}
    )
    assert resp.status_code == 200, resp.text


async def test_every_incident_event_from_the_pagerduty_simulator_normalizes(
    pd: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    created = await pd.post(
        "/incidents",
        json={
            "incident": {
                "type": "incident",
                "title": "Disk full",
                "service": ref("service", "PSVC001"),
            }
        },
    )
    incident_id = created.json()["incident"]["id"]
    await put(pd, incident_id, status="acknowledged")
    await put(pd, incident_id, status="triggered")  # unacknowledged
    await put(pd, incident_id, priority=ref("priority", "PPRI001"))
    await put(pd, incident_id, assignments=[{"assignee": ref("user", "PUSER02")}])
    await put(pd, incident_id, escalation_policy=ref("escalation_policy", "PEP0002"))
    await put(pd, incident_id, status="resolved")
    await put(pd, incident_id, status="triggered")  # reopened
    await pd.post(f"/incidents/{incident_id}/notes", json={"note": {"content": "looking"}})

    hooks = await receiver.wait_for(9)

    events = [normalize_pagerduty("acme", hook.json()) for hook in hooks]
    assert all(isinstance(e, IncidentEvent) for e in events)
    incident_events = [e for e in events if isinstance(e, IncidentEvent)]
    assert [e.event_type for e in incident_events] == [
        "incident.triggered",
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.priority_updated",
        "incident.reassigned",
        "incident.delegated",
        "incident.resolved",
        "incident.reopened",
        "incident.annotated",
    ]
    by_type = {e.event_type: e for e in incident_events}
    facts = {t: e.facts for t, e in by_type.items() if e.facts is not None}
    assert facts["incident.priority_updated"].priority == PdRef(id="PPRI001", summary="P1")
    assert facts["incident.reassigned"].assignees[0].id == "PUSER02"
    escalation_policy = facts["incident.delegated"].escalation_policy
    assert escalation_policy is not None
    assert escalation_policy.id == "PEP0002"
    assert by_type["incident.reopened"].status == "triggered"
    for event in incident_events:
        assert event.agent is not None
        assert event.agent.summary == "Integration Bot"  # the From user
        assert event.incident_id == incident_id
    note = by_type["incident.annotated"]
    assert note.facts is None  # the data is a note, not the incident
    assert note.note is not None
    assert note.note.content == "looking"


async def test_jira_simulator_create_and_priority_edit_normalize(
    jira: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    created = await jira.post(
        "/issue",
        json={"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"},
                         "summary": "Disk full", "customfield_10102": "checkout"}},
    )  # fmt: skip
    key = created.json()["key"]
    await jira.put(f"/issue/{key}", json={"fields": {"priority": {"name": "Highest"}}})

    first, second = await receiver.wait_for(2)

    create = normalize_jira("dc1", first.json(), event_id="e1")
    update = normalize_jira("dc1", second.json(), event_id="e2")
    assert isinstance(create, IssueEvent)
    assert isinstance(update, IssueEvent)
    assert (create.webhook_event, update.webhook_event) == (
        "jira:issue_created",
        "jira:issue_updated",
    )
    assert create.fields.custom["customfield_10102"] == (FieldValue(value="checkout"),)
    change = update.changed("priority")
    assert change is not None
    assert (change.from_string, change.to_string) == ("Medium", "Highest")
    assert isinstance(update.fields.priority, JiraRef)
    assert update.fields.priority.name == "Highest"
