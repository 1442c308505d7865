"""What a Jira issue event says, read defensively from the normalized event and the raw
``issue.fields``: project, issue type, priority, description, the issue as JQL wants it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pdjira_common.contracts import FieldChange, IssueEvent
from pdjira_common.times import iso_from_ms

from pdjira_rules.engine.refs import obj, text

__all__ = [
    "CREATED",
    "UPDATED",
    "caused_at",
    "description_of",
    "event_time",
    "fields_of",
    "issue_json",
    "issue_type_of",
    "jira_priority",
    "project_key_of_issue",
    "project_of",
]

CREATED: Final = "jira:issue_created"
UPDATED: Final = "jira:issue_updated"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def fields_of(event: IssueEvent) -> Mapping[str, object]:
    return event.fields if isinstance(event.fields, Mapping) else {}


def project_of(event: IssueEvent) -> tuple[str, str | None, str | None]:
    """(key, id, name)."""
    project = obj(fields_of(event), "project")
    return event.project_key, text(project, "id"), text(project, "name")


def issue_type_of(event: IssueEvent) -> tuple[str, str | None]:
    """(name, id)."""
    issue_type = obj(fields_of(event), "issuetype")
    return event.issue_type or text(issue_type, "name") or "", text(issue_type, "id")


def jira_priority(event: IssueEvent, change: FieldChange | None = None) -> str | None:
    """The issue's priority name: the change's new value if given, else the event's."""
    if change is not None:
        return change.to_string or None
    return event.priority or text(obj(fields_of(event), "priority"), "name")


def description_of(event: IssueEvent) -> str:
    value = fields_of(event).get("description")
    return value if isinstance(value, str) else ""


def project_key_of_issue(key: str) -> str:
    """``HD`` of ``HD-12``."""
    return key.rsplit("-", 1)[0] if "-" in key else key


def issue_json(event: IssueEvent) -> dict[str, Any]:
    """``{"key", "id", "fields"}`` for JQL; without raw fields, the normalized ones stand in."""
    fields: dict[str, Any] = dict(fields_of(event))
    if not fields:
        fields = {
            "project": {"key": event.project_key},
            "issuetype": {"name": event.issue_type},
            "status": {"name": event.status},
            "summary": event.summary,
            "labels": list(event.labels),
        }
        if event.priority:
            fields["priority"] = {"name": event.priority}
    return {"key": event.key, "id": event.issue_id, "fields": fields}


def event_time(event: IssueEvent) -> datetime:
    """The webhook's time (anchors JQL's relative dates, so a replay decides alike)."""
    try:
        return datetime.fromtimestamp(event.timestamp_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return _EPOCH


def caused_at(event: IssueEvent) -> str | None:
    if not event.timestamp_ms:
        return None
    try:
        return iso_from_ms(event.timestamp_ms)
    except (OverflowError, OSError, ValueError):
        return None
