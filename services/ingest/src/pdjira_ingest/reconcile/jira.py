"""Jira changes -> synthetic IssueEvents (pure), as the webhooks would have said them: the
issue's creation, each changelog history and each new comment, except pdjira's own."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec
from msgspec import UNSET
from pdjira_common.config import Config
from pdjira_common.contracts import FieldChange, IssueEvent
from pdjira_common.facts import IssueFields, JiraComment, JiraRef, JiraUser
from pdjira_common.requests import JiraIssueChanges

from pdjira_ingest.reconcile.changes import ORIGIN, Change, Kind, Window
from pdjira_ingest.stable_ids import (
    instant,
    jira_comment_id,
    jira_created_id,
    jira_history_id,
)

__all__ = ["is_ours", "issue_changes", "issue_create", "projects_to_poll"]

_CREATED: Final = "jira:issue_created"
_UPDATED: Final = "jira:issue_updated"


def is_ours(user: JiraUser | None, myself: JiraUser | None) -> bool:
    """A change by the user the jira-writer acts as: pdjira's own write."""
    if user is None or myself is None:
        return False
    return (user.key is not None and user.key == myself.key) or (
        user.name is not None and user.name == myself.name
    )


def _fields_at(issue: JiraIssueChanges, at: datetime) -> IssueFields:
    """The issue's fields as they were just after ``at``: its status rolled back through the
    later histories (the other fields are as they are now)."""
    fields = issue.fields
    for history in reversed(issue.histories):
        when = instant(history.created)
        if when is None or when <= at:
            break
        status = next((i for i in history.items if i.field == "status"), None)
        if status is not None:
            rolled = JiraRef(id=status.from_value, name=status.from_string)
            fields = msgspec.structs.replace(fields, status=rolled, status_category=UNSET)
    return fields


def _event(
    instance: str,
    issue: JiraIssueChanges,
    change_id: str,
    at: datetime,
    *,
    webhook_event: str,
    event_type: str,
    user: JiraUser | None,
    changes: tuple[FieldChange, ...] = (),
    comment: JiraComment | None = None,
    fields: IssueFields | None = None,
) -> IssueEvent:
    return IssueEvent(
        event_id=change_id,
        correlation_id=change_id,
        instance=instance,
        issue_id=issue.id,
        key=issue.key,
        webhook_event=webhook_event,
        issue_event_type=event_type,
        timestamp_ms=int(at.timestamp() * 1000),
        fields=fields or _fields_at(issue, at),
        user=user,
        changes=changes,
        comment=comment,
        origin=ORIGIN,
    )


def issue_create(instance: str, issue: JiraIssueChanges, myself: JiraUser | None) -> Change | None:
    """The issue's creation (fields as they were then), unless pdjira created it."""
    created = issue.fields.created
    at = instant(created) if isinstance(created, str) else None
    creator = issue.fields.creator if isinstance(issue.fields.creator, JiraUser) else None
    if at is None or is_ours(creator, myself):
        return None
    event = _event(
        instance,
        issue,
        jira_created_id(instance, issue.id),
        at,
        webhook_event=_CREATED,
        event_type="issue_created",
        user=creator,
        fields=_fields_at(issue, datetime.min.replace(tzinfo=at.tzinfo)),
    )
    return Change(event=event, at=at, kind="create")


def issue_changes(
    instance: str, issue: JiraIssueChanges, window: Window, myself: JiraUser | None
) -> list[Change]:
    """The issue's creation, histories and comments in ``window`` not made by pdjira, oldest
    first."""
    found: list[Change] = []
    create = issue_create(instance, issue, myself)
    if create is not None:
        found.append(create)
    for history in issue.histories:
        at = instant(history.created)
        if at is None or is_ours(history.author, myself):
            continue
        change_id = jira_history_id(instance, issue.id, history.id)
        event = _event(
            instance,
            issue,
            change_id,
            at,
            webhook_event=_UPDATED,
            event_type="issue_updated",
            user=history.author,
            changes=history.items,
        )
        found.append(Change(event=event, at=at, kind="update"))
    for comment in issue.comments:
        at = instant(comment.created)
        if at is None or is_ours(comment.author, myself):
            continue
        change_id = jira_comment_id(instance, issue.id, comment.id)
        event = _event(
            instance,
            issue,
            change_id,
            at,
            webhook_event=_UPDATED,
            event_type="issue_commented",
            user=comment.author,
            comment=JiraComment(id=comment.id, body=comment.body),
        )
        kind: Kind = "comment"
        found.append(Change(event=event, at=at, kind=kind))
    return sorted((c for c in found if c.at in window), key=lambda c: c.at)


def projects_to_poll(config: Config, instance: str) -> tuple[str, ...]:
    """The projects the rules of ``instance`` name (keys, ids or names, as written); none named:
    every project (empty)."""
    named: list[str] = [r.project for r in config.rules if r.instance == instance]
    for wrapped in config.pagerduty_rules:
        if wrapped.get("instance", instance) != instance:
            continue
        rule = wrapped.get("rule")
        rule_config = rule.get("config") if isinstance(rule, dict) else None
        projects = rule_config.get("projects") if isinstance(rule_config, dict) else None
        for project in projects if isinstance(projects, list) else []:
            if isinstance(project, str):
                named.append(project)
            elif isinstance(project, dict):
                value = project.get("key") or project.get("id") or project.get("label")
                if isinstance(value, str | int) and not isinstance(value, bool):
                    named.append(str(value))
    return tuple(dict.fromkeys(named))
