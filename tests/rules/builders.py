"""Events, rules and links for every rules test, with defaults that tests override by keyword.

Events are made the way ingest makes them: the webhook's incident object (``data``) or issue
fields (``fields``) read into typed facts by :mod:`pdjira_common.facts`. Rules come in both
forms: the simple set (:func:`simple_rule`, compiled as the service does) and PagerDuty-style
(:func:`pd_rule` wrapped by :func:`stored`).
"""

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
    RuleVerdict,
)
from pdjira_common.facts import (
    JiraComment,
    JiraUser,
    PdAgent,
    PdNote,
    read_incident,
    read_issue_fields,
)
from pdjira_rules.engine import Decision
from pdjira_rules.rule_loading import load_config_rules
from pdjira_rules.rule_model import StoredRule, decode_rule

__all__ = [
    "ACCOUNTS",
    "INSTANCES",
    "action",
    "comment_event",
    "compiled",
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
    "simple_rule",
    "status_change",
    "status_item",
    "stored",
    "verdicts_of",
]

ACCOUNTS = ["acme", "other"]
INSTANCES = ["dc1", "dc2"]
_STATUS = {"incident.acknowledged": "acknowledged", "incident.resolved": "resolved"}
_UNSET: Any = object()  # "not given": the default applies (None is a value)

# ------------------------------------------------------------------------------ PagerDuty


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


def incident_event(
    event_type: str = "incident.triggered", *, data: Any = _UNSET, **overrides: Any
) -> IncidentEvent:
    """An incident event whose facts are read from ``data`` (default: :func:`incident_data`
    with the status the event type implies; None: no facts, as on a note)."""
    status = _STATUS.get(event_type, "triggered")
    raw = incident_data(status=status) if data is _UNSET else data
    fields: dict[str, Any] = {
        "event_id": "ev-1",
        "correlation_id": "ev-1",
        "account": "acme",
        "incident_id": "PGR0VU2",
        "event_type": event_type,
        "occurred_at": "2020-10-02T18:45:22.169Z",
        "title": "A little bump in the road",
        "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
        "agent": PdAgent(id="PLH1HKV", type="user_reference", summary="Tenex Engineer"),
        "facts": None if raw is None else read_incident(raw, status=status),  # type: ignore[arg-type]
    }
    return IncidentEvent(**{**fields, **overrides})


def note_event(
    content: str = "Looking into it", *, note_id: str = "PNOTE1", **overrides: Any
) -> IncidentEvent:
    """``incident.annotated``: the note and an incident reference, no incident facts."""
    fields: dict[str, Any] = {
        "note": PdNote(id=note_id, content=content),
        "agent": PdAgent(id="PUSER1", type="user_reference", summary="Pat"),
    }
    return incident_event("incident.annotated", data=None, **{**fields, **overrides})


# ------------------------------------------------------------------------------ Jira


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
        "status": {"id": "1", "name": "Open", "statusCategory": {"id": 2, "key": "new"}},
        "priority": {"id": "3", "name": "Medium"},
        "labels": ["db"],
        "summary": "Database down",
        "description": "The primary is gone.",
        "customfield_10010": {"id": "10300", "value": "Gold"},
    }
    return {**fields, **overrides}


def issue_event(*changes: FieldChange, fields: Any = _UNSET, **overrides: Any) -> IssueEvent:
    """An issue event whose fields are read from ``fields`` (default: :func:`issue_fields`,
    in the status the first status change moves to)."""
    if fields is _UNSET:
        status = next((c for c in changes if c.field == "status"), None)
        moved = {"id": status.to_value, "name": status.to_string} if status else None
        fields = issue_fields(**({"status": moved} if moved else {}))
    values: dict[str, Any] = {
        "event_id": "jira:dc1:abc",
        "correlation_id": "jira:dc1:abc",
        "instance": "dc1",
        "issue_id": "10100",
        "key": "OPS-4",
        "webhook_event": "jira:issue_updated",
        "issue_event_type": "issue_generic",
        "timestamp_ms": 1565751753680,
        "user": JiraUser(name="alice", key="JIRAUSER10100"),
        "changes": changes,
        "fields": read_issue_fields(fields),
    }
    return IssueEvent(**{**values, **overrides})


def comment_event(
    *changes: FieldChange,
    body: str = "Restarted the primary",
    comment_id: str = "10500",
    **overrides: Any,
) -> IssueEvent:
    fields: dict[str, Any] = {
        "issue_event_type": "issue_commented",
        "comment": JiraComment(id=comment_id, body=body),
    }
    return issue_event(*changes, **{**fields, **overrides})


def link(account: str = "acme", instance: str = "dc1", key: str = "OPS-4") -> Link:
    return Link(
        incident=IncidentRef(account=account, incident_id="PGR0VU2"),
        issue=IssueRef(instance=instance, issue_id="10100", key=key),
        created_at="2020-10-02T18:45:30Z",
    )


# ------------------------------------------------------------------------------ simple rules


def simple_rule(**overrides: Any) -> SyncRule:
    """A rule of the simple set (``rules:`` in the config)."""
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


def compiled(*rules: SyncRule) -> tuple[StoredRule, ...]:
    """Simple rules as the rules service loads them: compiled into PagerDuty-style rules."""
    return load_config_rules((), ACCOUNTS, INSTANCES, simple_rules=rules)


# ------------------------------------------------------------------------------ PD-style rules


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
