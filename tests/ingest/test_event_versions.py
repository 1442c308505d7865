"""A v1 event (what ingest published before typed facts) upgrades to the very event ingest
publishes now for the same webhook, so the rules decide it alike."""

from __future__ import annotations

from typing import Any

from pdjira_common.contracts import (
    IncidentEvent,
    IncidentEventV1,
    IssueEvent,
    IssueEventV1,
    decode_event,
    encode,
    upgrade_event,
)
from pdjira_ingest.normalize import normalize_jira, normalize_pagerduty

from .payloads import jira_issue_updated, pd_annotated, pd_envelope, pd_incident


def _v1_incident(payload: dict[str, Any], event_id: str) -> IncidentEventV1:
    """As ingest before v2 normalized a PagerDuty webhook (``event_id``: the id it gave)."""
    event, data = payload["event"], payload["event"]["data"]
    agent = event.get("agent") or {}
    note = data.get("type") == "incident_note"
    incident = data["incident"] if note else data
    return IncidentEventV1(
        event_id=event_id,
        correlation_id=event_id,
        account="acme",
        incident_id=incident["id"],
        event_type=event["event_type"],
        occurred_at=event["occurred_at"],
        title=incident.get("title") or incident.get("summary") or "",
        html_url=incident.get("html_url") or "",
        status=None if note else data["status"],
        number=None if note else data["number"],
        urgency=None if note else data.get("urgency"),
        service_id=None if note else data["service"]["id"],
        service_name=None if note else data["service"].get("summary"),
        priority=None if note or not data.get("priority") else data["priority"]["summary"],
        agent_id=agent.get("id"),
        agent_type=agent.get("type"),
        agent_summary=agent.get("summary"),
        note_id=data["id"] if note else None,
        note_content=data.get("content") if note else None,
        data=None if note else data,
    )


def test_pagerduty_v1_events_upgrade_to_what_ingest_makes_now() -> None:
    for payload in (
        pd_envelope("incident.triggered", pd_incident()),
        pd_envelope("incident.acknowledged", pd_incident(status="acknowledged", priority=None)),
        pd_annotated(),
    ):
        now = normalize_pagerduty("acme", payload)
        assert isinstance(now, IncidentEvent)
        old = _v1_incident(payload, now.event_id)
        assert upgrade_event(old) == now
        assert decode_event(encode(old)) == now  # read from the stream: decoded, upgraded


def test_jira_v1_event_upgrades_to_what_ingest_makes_now() -> None:
    items = [{"field": "status", "from": "1", "fromString": "Open", "to": "3", "toString": "Done"}]
    payload = jira_issue_updated(items, status="Done")
    now = normalize_jira("dc1", payload, event_id="e")
    assert isinstance(now, IssueEvent)
    fields = payload["issue"]["fields"]
    old = IssueEventV1(
        event_id=now.event_id,
        correlation_id=now.event_id,
        instance="dc1",
        issue_id=payload["issue"]["id"],
        key=payload["issue"]["key"],
        webhook_event=payload["webhookEvent"],
        issue_event_type=payload["issue_event_type_name"],
        timestamp_ms=payload["timestamp"],
        project_key="OPS",
        issue_type="Task",
        status="Done",
        status_category="done",
        summary=fields["summary"],
        priority="Major",
        labels=("pagerduty",),
        user_name="admin",
        user_key="JIRAUSER10100",
        changes=now.changes,
        fields=fields,
    )
    upgraded = upgrade_event(old)
    assert isinstance(upgraded, IssueEvent)
    assert upgraded.fields == now.fields
    assert upgraded.user is not None
    assert (upgraded.user.name, upgraded.user.key) == ("admin", "JIRAUSER10100")
    assert (upgraded.project_key, upgraded.status, upgraded.changes) == ("OPS", "Done", now.changes)
