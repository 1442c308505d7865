"""Events, rules and links for the rules tests, with defaults that tests override by keyword."""

from __future__ import annotations

from typing import Any

from pdjira_common.config import SyncRule
from pdjira_common.contracts import (
    FieldChange,
    IncidentEvent,
    IncidentRef,
    IssueEvent,
    IssueRef,
    Link,
)

__all__ = ["incident_event", "issue_event", "link", "rule", "status_change"]


def rule(**overrides: Any) -> SyncRule:
    fields: dict[str, Any] = {
        "name": "ops",
        "account": "acme",
        "instance": "dc1",
        "project": "OPS",
        "issue_type": "Task",
        "on_acknowledge": "In Progress",
        "on_resolve": "Done",
        "resolution": "Fixed",
        "resolve_when_status": ("Done",),
    }
    return SyncRule(**{**fields, **overrides})


def incident_event(event_type: str = "incident.triggered", **overrides: Any) -> IncidentEvent:
    status = {"incident.acknowledged": "acknowledged", "incident.resolved": "resolved"}
    fields: dict[str, Any] = {
        "event_id": "ev-1",
        "correlation_id": "ev-1",
        "account": "acme",
        "incident_id": "PGR0VU2",
        "event_type": event_type,
        "occurred_at": "2020-10-02T18:45:22.169Z",
        "status": status.get(event_type, "triggered"),
        "title": "A little bump in the road",
        "number": 2,
        "urgency": "high",
        "service_id": "PSVC9",
        "service_name": "API Service",
        "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
        "priority": "P1",
    }
    return IncidentEvent(**{**fields, **overrides})


def status_change(to: str, frm: str = "Open") -> FieldChange:
    return FieldChange(field="status", from_value="1", from_string=frm, to_value="9", to_string=to)


def issue_event(*changes: FieldChange, **overrides: Any) -> IssueEvent:
    fields: dict[str, Any] = {
        "event_id": "jira:dc1:abc",
        "correlation_id": "jira:dc1:abc",
        "instance": "dc1",
        "issue_id": "10100",
        "key": "OPS-4",
        "webhook_event": "jira:issue_updated",
        "issue_event_type": "issue_generic",
        "timestamp_ms": 1565751753680,
        "project_key": "OPS",
        "issue_type": "Task",
        "status": changes[0].to_string if changes else "Open",
        "status_category": "done",
        "summary": "A little bump in the road",
        "user_name": "alice",
        "user_key": "JIRAUSER10100",
        "changes": changes,
    }
    return IssueEvent(**{**fields, **overrides})


def link(account: str = "acme", instance: str = "dc1", key: str = "OPS-4") -> Link:
    return Link(
        incident=IncidentRef(account=account, incident_id="PGR0VU2"),
        issue=IssueRef(instance=instance, issue_id="10100", key=key),
        created_at="2020-10-02T18:45:30Z",
    )
