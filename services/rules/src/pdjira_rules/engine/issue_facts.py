"""What a Jira issue event says: project, issue type, priority, description and times (read
from the event's typed fields)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from pdjira_common.contracts import FieldChange, IssueEvent
from pdjira_common.facts import JiraRef
from pdjira_common.times import iso_from_ms

__all__ = [
    "CREATED",
    "UPDATED",
    "caused_at",
    "description_of",
    "event_time",
    "issue_type_of",
    "jira_priority",
    "project_key_of_issue",
    "project_of",
]

CREATED: Final = "jira:issue_created"
UPDATED: Final = "jira:issue_updated"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def project_of(event: IssueEvent) -> tuple[str, str | None, str | None]:
    """(key, id, name)."""
    project = event.fields.project
    return event.project_key, project.id, project.name


def issue_type_of(event: IssueEvent) -> tuple[str, str | None]:
    """(name, id)."""
    return event.issue_type, event.fields.issue_type.id


def jira_priority(event: IssueEvent, change: FieldChange | None = None) -> str | None:
    """The issue's priority name: the change's new value if given, else the issue's."""
    if change is not None:
        return change.to_string or None
    priority = event.fields.priority
    return priority.name if isinstance(priority, JiraRef) else None


def description_of(event: IssueEvent) -> str:
    description = event.fields.description
    return description if isinstance(description, str) else ""


def project_key_of_issue(key: str) -> str:
    """``HD`` of ``HD-12``."""
    return key.rsplit("-", 1)[0] if "-" in key else key


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
