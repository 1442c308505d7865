"""Events, PagerDuty-style rules and links for the engine tests; defaults overridden by keyword.

Modelled on tests/rules/builders.py; events here carry the raw webhook ``data`` / ``fields``.
"""

from __future__ import annotations

from typing import Any

from pdjira_common.contracts import (
    FieldChange,
    IncidentEvent,
    IncidentRef,
    IssueEvent,
    IssueRef,
    Link,
    RuleVerdict,
)
from pdjira_rules.decide import Decision
from pdjira_rules.rule_model import StoredRule, decode_rule

__all__ = [
    "action",
    "comment_event",
    "create_item",
    "incident_data",
    "incident_event",
    "issue_event",
    "issue_fields",
    "jql_item",
    "link",
    "note_event",
    "pd_rule",
    "priority_change",
    "react_item",
    "status_change",
    "status_item",
    "stored",
    "verdicts_of",
]

_STATUS = {"incident.acknowledged": "acknowledged", "incident.resolved": "resolved"}


def incident_data(**overrides: Any) -> dict[str, Any]:
    """PagerDuty's webhook v3 incident object (``event.data``)."""
    data: dict[str, Any] = {
        "id": "PGR0VU2",
        "type": "incident",
        "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
        "number": 2,
        "status": "triggered",
        "created_at": "2020-04-09T15:16:27Z",
        "title": "A little bump in the road",
        "service": {"id": "PSVC9", "summary": "API Service", "type": "service_reference"},
        "assignees": [{"id": "PTUXL6G", "summary": "User 123", "type": "user_reference"}],
        "escalation_policy": {"id": "PUS0KTE", "summary": "Default"},
        "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
        "urgency": "high",
    }
    return {**data, **overrides}


def incident_event(event_type: str = "incident.triggered", **overrides: Any) -> IncidentEvent:
    status = _STATUS.get(event_type, "triggered")
    fields: dict[str, Any] = {
        "event_id": "ev-1",
        "correlation_id": "ev-1",
        "account": "acme",
        "incident_id": "PGR0VU2",
        "event_type": event_type,
        "occurred_at": "2020-10-02T18:45:22.169Z",
        "status": status,
        "title": "A little bump in the road",
        "number": 2,
        "urgency": "high",
        "service_id": "PSVC9",
        "service_name": "API Service",
        "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
        "priority": "P1",
        "agent_id": "PLH1HKV",
        "agent_type": "user_reference",
        "agent_summary": "Tenex Engineer",
        "data": incident_data(status=status),
    }
    return IncidentEvent(**{**fields, **overrides})


def note_event(**overrides: Any) -> IncidentEvent:
    """``incident.annotated``: only an incident reference, no service/priority/data."""
    fields: dict[str, Any] = {
        "status": None,
        "number": None,
        "urgency": None,
        "service_id": None,
        "service_name": None,
        "priority": None,
        "data": None,
        "note_id": "PNOTE1",
        "note_content": "Looking into it",
        "agent_id": "PUSER1",
        "agent_type": "user_reference",
    }
    return incident_event("incident.annotated", **{**fields, **overrides})


def status_change(to: str, frm: str = "Open", to_id: str = "9") -> FieldChange:
    return FieldChange(
        field="status", from_value="1", from_string=frm, to_value=to_id, to_string=to
    )


def priority_change(to: str, frm: str = "Medium", to_id: str = "2") -> FieldChange:
    return FieldChange(
        field="priority", from_value="3", from_string=frm, to_value=to_id, to_string=to
    )


def issue_fields(**overrides: Any) -> dict[str, Any]:
    """A Jira Server webhook's ``issue.fields``."""
    fields: dict[str, Any] = {
        "project": {"id": "10000", "key": "OPS", "name": "Operations"},
        "issuetype": {"id": "10003", "name": "Task"},
        "status": {"id": "1", "name": "Open"},
        "priority": {"id": "3", "name": "Medium"},
        "labels": ["db"],
        "summary": "Database down",
        "description": "The primary is gone.",
        "customfield_10010": {"id": "10300", "value": "Gold"},
    }
    return {**fields, **overrides}


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
        "status": changes[0].to_string if changes and changes[0].field == "status" else "Open",
        "status_category": "new",
        "summary": "Database down",
        "priority": "Medium",
        "user_name": "alice",
        "user_key": "JIRAUSER10100",
        "changes": changes,
        "fields": issue_fields(),
    }
    return IssueEvent(**{**fields, **overrides})


def comment_event(**overrides: Any) -> IssueEvent:
    fields: dict[str, Any] = {
        "issue_event_type": "issue_commented",
        "comment_id": "10500",
        "comment_body": "Restarted the primary",
    }
    return issue_event(**{**fields, **overrides})


def link(account: str = "acme", instance: str = "dc1", key: str = "OPS-4") -> Link:
    return Link(
        incident=IncidentRef(account=account, incident_id="PGR0VU2"),
        issue=IssueRef(instance=instance, issue_id="10100", key=key),
        created_at="2020-10-02T18:45:30Z",
    )


# ------------------------------------------------------------------------------ rules


def action(key: str, *, disabled: bool = False) -> dict[str, Any]:
    return {"key": key, "label": key, "icon": "jira", "isDisabled": disabled}


def _actions(actions: dict[str, Any], disabled: tuple[str, ...]) -> dict[str, Any]:
    return {
        "actions": [action(k, disabled=k in disabled) for k in actions],
        "actions_params": {k: v for k, v in actions.items() if v is not None},
    }


def create_item(
    events: tuple[str, ...] = ("incident.trigger",),
    *,
    priorities: tuple[dict[str, Any], ...] = (),
    urgency: str | None = None,
    actions: dict[str, Any] | None = None,
    disabled: tuple[str, ...] = (),
    **more: Any,
) -> dict[str, Any]:
    """An autocreate_issues (or react_on_incident_event) item; ``actions``: key -> param."""
    condition = {
        "pd_events": list(events),
        "pd_priorities": list(priorities),
        "pd_urgency": urgency,
    }
    return {"condition": condition, **_actions(actions or {}, disabled), **more}


react_item = create_item


def status_item(
    *statuses: dict[str, Any], actions: dict[str, Any], disabled: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {"jira_statuses": list(statuses), **_actions(actions, disabled)}


def jql_item(
    jql: str,
    *,
    on_create: bool = True,
    on_update: bool = False,
    actions: dict[str, Any] | None = None,
    **more: Any,
) -> dict[str, Any]:
    return {
        "jql": jql,
        "on_create": on_create,
        "on_update": on_update,
        **_actions(actions or {}, ()),
        **more,
    }


def pd_rule(name: str = "ops", *, enabled: bool = True, **config: Any) -> dict[str, Any]:
    """PagerDuty's rule: service PSVC9, project OPS, issue type Task unless overridden."""
    base: dict[str, Any] = {
        "services": [{"id": "PSVC9", "type": "service_reference", "label": "API Service"}],
        "projects": [{"id": "10000", "key": "OPS", "label": "Operations"}],
        "issue_types": [{"id": "10003", "label": "Task"}],
    }
    return {"name": name, "enabled": enabled, "config": {**base, **config}}


def stored(
    rule: dict[str, Any] | None = None,
    *,
    rule_id: str = "r1",
    account: str = "acme",
    instance: str = "dc1",
    **wrapper: Any,
) -> StoredRule:
    raw = {"account": account, "instance": instance, "rule": rule or pd_rule(), **wrapper}
    return StoredRule(id=rule_id, source="config", wrapped=decode_rule(raw))


def verdicts_of(decision: Decision, section: str) -> list[RuleVerdict]:
    """The verdicts of one section's items (``section`` e.g. "react_on_incident_event")."""
    return [v for v in decision.verdicts if (v.item or "").startswith(section)]
