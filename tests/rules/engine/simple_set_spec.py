"""What the simple rule set did before it was compiled into PagerDuty-style rules: the commands
of the retired ``decide.py``, kept as an executable specification (commands only; the verdict
texts are the engine's now). Only tests use it, to show the compiled rules send the same.

Transition and resolve command ids were ``<event id>:transition`` / ``<event id>:resolve``;
the engine keys them by event, rule and item, so the comparison normalizes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pdjira_common.config import SyncRule
from pdjira_common.contracts import (
    AddComment,
    AddNote,
    Command,
    CreateIssue,
    Event,
    IncidentEvent,
    IssueEvent,
    Link,
    TransitionIssue,
    UpdateIncident,
)
from pdjira_common.times import iso_from_ms

__all__ = ["spec_commands"]

_LINK_DEPENDENT = frozenset({"incident.triggered", "incident.acknowledged", "incident.resolved"})


class _Skip(Exception):
    pass


def _fold(
    rules: Sequence[SyncRule], consider: Callable[[SyncRule, bool], Command]
) -> list[Command]:
    """The first rule that sends a command owns the action for this event."""
    commands: list[Command] = []
    for rule in rules:
        try:
            commands.append(consider(rule, bool(commands)))
        except _Skip:
            continue
    return commands


def _require(ok: bool) -> None:
    if not ok:
        raise _Skip


def spec_commands(
    event: Event,
    rules: Sequence[SyncRule],
    link: Link | None,
    *,
    echoes: frozenset[str] = frozenset(),
    synced_as: str | None = None,
) -> list[Command]:
    if isinstance(event, IncidentEvent):
        if event.is_note:
            return _note(event, rules, link, echoes, synced_as)
        return _incident(event, rules, link, echoes)
    if event.is_comment and event.changed("status") is None:
        return _comment(event, rules, link, echoes, synced_as)
    resolves = _status(event, rules, link, echoes)
    if event.is_comment:
        return resolves + _comment(event, rules, link, echoes, synced_as)
    return resolves


def _summary(event: IncidentEvent) -> str:
    number = event.facts.number if event.facts else None
    title = " ".join(event.title.split()) or f"PagerDuty incident #{number}"
    return title if len(title) <= 255 else title[:252].rstrip() + "..."


def _description(event: IncidentEvent) -> str:
    facts = event.facts
    service = facts.service if facts else None
    service_id = service.id if service else None
    name = (service.summary if service else None) or service_id or "unknown"
    priority = facts.priority.summary if facts and facts.priority else None
    lines = [
        f"PagerDuty incident #{facts.number if facts else None}: {event.title}",
        f"Service: {name} ({service_id})",
        f"Urgency: {(facts.urgency if facts else None) or 'unknown'}",
    ]
    if priority:
        lines.append(f"Priority: {priority}")
    lines.append(f"Incident: {event.html_url}")
    return "\n".join(lines)


def _incident(
    event: IncidentEvent, rules: Sequence[SyncRule], link: Link | None, echoes: frozenset[str]
) -> list[Command]:
    service = event.facts.service if event.facts else None
    triggered = event.event_type == "incident.triggered"

    def consider(rule: SyncRule, owned: bool) -> Command:
        _require(rule.account == event.account)
        _require(event.event_type in _LINK_DEPENDENT)
        _require("status" not in echoes or triggered)
        _require(not rule.services or (service is not None and service.id in rule.services))
        if triggered:
            _require(rule.create_on_trigger and link is None and not owned)
            return CreateIssue(
                command_id=f"create:{event.account}:{event.incident_id}",
                correlation_id=event.correlation_id,
                incident=event.incident,
                instance=rule.instance,
                project=rule.project,
                issue_type=rule.issue_type,
                summary=_summary(event),
                description=_description(event),
                labels=("pagerduty",),
            )
        acknowledged = event.event_type == "incident.acknowledged"
        target = rule.on_acknowledge if acknowledged else rule.on_resolve
        _require(target is not None)
        _require(link is None or link.issue.instance == rule.instance)
        _require(link is not None or rule.create_on_trigger)
        _require(not owned)
        assert target is not None
        return TransitionIssue(
            command_id=f"{event.event_id}:transition",
            correlation_id=event.correlation_id,
            incident=event.incident,
            instance=rule.instance,
            target_status=target,
            resolution=None if acknowledged else rule.resolution,
            caused_at=event.occurred_at or None,
        )

    return _fold(rules, consider)


def _status(
    event: IssueEvent, rules: Sequence[SyncRule], link: Link | None, echoes: frozenset[str]
) -> list[Command]:
    change = event.changed("status")

    def consider(rule: SyncRule, owned: bool) -> Command:
        _require(rule.instance == event.instance and change is not None)
        _require("status" not in echoes)
        _require(event.project_key.casefold() == rule.project.casefold())
        assert change is not None
        status = change.to_string or event.status
        _require(status.casefold() in {s.casefold() for s in rule.resolve_when_status})
        _require(link is not None and link.incident.account == rule.account and not owned)
        assert link is not None
        return UpdateIncident(
            command_id=f"{event.event_id}:resolve",
            correlation_id=event.correlation_id,
            incident=link.incident,
            status="resolved",
            cause=event.issue,
            actor_user_key=event.user_key,
            caused_at=iso_from_ms(event.timestamp_ms) if event.timestamp_ms else None,
        )

    return _fold(rules, consider)


def _note(
    event: IncidentEvent,
    rules: Sequence[SyncRule],
    link: Link | None,
    echoes: frozenset[str],
    synced_as: str | None,
) -> list[Command]:
    note = event.note
    assert note is not None

    def consider(rule: SyncRule, owned: bool) -> Command:
        _require(rule.account == event.account and "note" not in echoes)
        _require(link is not None and link.issue.instance == rule.instance)
        _require(synced_as is None and not owned)
        assert link is not None
        agent = event.agent
        return AddComment(
            command_id=f"note:{event.account}:{note.id}",
            correlation_id=event.correlation_id,
            incident=event.incident,
            instance=link.issue.instance,
            note_id=note.id,
            body=note.content,
            author_pd_user_id=agent.id if agent and agent.type == "user_reference" else None,
            author_name=agent.summary if agent else None,
        )

    return _fold(rules, consider)


def _comment(
    event: IssueEvent,
    rules: Sequence[SyncRule],
    link: Link | None,
    echoes: frozenset[str],
    synced_as: str | None,
) -> list[Command]:
    comment = event.comment
    assert comment is not None

    def consider(rule: SyncRule, owned: bool) -> Command:
        _require(rule.instance == event.instance)
        _require(event.project_key.casefold() == rule.project.casefold())
        _require("comment" not in echoes)
        _require(link is not None and link.incident.account == rule.account)
        _require(synced_as is None and not owned)
        assert link is not None
        return AddNote(
            command_id=f"comment:{event.instance}:{comment.id}",
            correlation_id=event.correlation_id,
            incident=link.incident,
            issue=event.issue,
            comment_id=comment.id,
            body=comment.body,
            author_jira_user_key=event.user_key,
            author_jira_user_name=event.user.name if event.user else None,
            author_display_name=event.user.display_name if event.user else None,
        )

    return _fold(rules, consider)
