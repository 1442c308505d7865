"""The rule decisions (pure): an event, the configured rules, the incident<->issue link and what
mapping said about echoes and note/comment pairs in; the commands to send and one verdict per
rule (matched, or skipped and why) out.

Command ids are deterministic, so a redelivered event yields the same ids and JetStream's
``Nats-Msg-Id`` dedup on stream COMMANDS drops the repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

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
    RuleVerdict,
    TransitionIssue,
    UpdateIncident,
)
from pdjira_common.times import iso_from_ms

__all__ = [
    "ECHO",
    "JIRA_SUMMARY_MAX",
    "Decision",
    "comment_command_id",
    "create_command_id",
    "decide",
    "decide_incident_event",
    "decide_issue_event",
    "is_comment",
    "is_note",
    "needs_link",
    "note_command_id",
]

JIRA_SUMMARY_MAX: Final = 255  # Jira refuses longer summaries
LABELS: Final = ("pagerduty",)

TRIGGERED: Final = "incident.triggered"
ACKNOWLEDGED: Final = "incident.acknowledged"
RESOLVED: Final = "incident.resolved"
ANNOTATED: Final = "incident.annotated"
COMMENTED: Final = "issue_commented"
ECHO: Final = "echo of our own write"
# Known and deliberately not acted on yet; audited as such rather than as "unknown".
NOT_YET_SYNCED: Final = frozenset({"incident.reopened", "incident.unacknowledged"})
_LINK_DEPENDENT: Final = frozenset({TRIGGERED, ACKNOWLEDGED, RESOLVED})


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What to send, and a verdict for every rule considered (in rule order)."""

    commands: tuple[Command, ...] = ()
    verdicts: tuple[RuleVerdict, ...] = ()


def create_command_id(account: str, incident_id: str) -> str:
    """Keyed by the incident, not the event: every create for one incident is the same command."""
    return f"create:{account}:{incident_id}"


def note_command_id(account: str, note_id: str) -> str:
    """Keyed by the note: a note is mirrored once, whatever event or redelivery brings it."""
    return f"note:{account}:{note_id}"


def comment_command_id(instance: str, comment_id: str) -> str:
    """Keyed by the comment: a comment is mirrored once."""
    return f"comment:{instance}:{comment_id}"


def is_note(event: Event) -> bool:
    """A new PagerDuty note (``incident.annotated`` with the note in it)."""
    return (
        isinstance(event, IncidentEvent)
        and event.event_type == ANNOTATED
        and event.note_id is not None
        and event.note_content is not None
    )


def is_comment(event: Event) -> bool:
    """A new Jira comment (``issue_commented``; edits and deletions are not synced)."""
    return (
        isinstance(event, IssueEvent)
        and event.issue_event_type == COMMENTED
        and event.comment_id is not None
        and event.comment_body is not None
    )


def needs_link(event: Event, rules: Sequence[SyncRule]) -> bool:
    """Whether any rule could get as far as asking about the link (saves a lookup otherwise)."""
    if isinstance(event, IncidentEvent):
        return (event.event_type in _LINK_DEPENDENT or is_note(event)) and any(
            rule.account == event.account for rule in rules
        )
    if is_comment(event) and any(rule.instance == event.instance for rule in rules):
        return True
    return event.changed("status") is not None and any(
        rule.instance == event.instance and rule.resolve_when_status for rule in rules
    )


def decide(
    event: Event,
    rules: Sequence[SyncRule],
    link: Link | None,
    *,
    echoes: frozenset[str] = frozenset(),
    synced_as: str | None = None,
) -> Decision:
    """``echoes``: the fields whose change mapping recognised as our own write (its echo mark
    was consumed); ``synced_as``: the comment (note) the event's note (comment) already has."""
    if isinstance(event, IncidentEvent):
        if is_note(event):
            return decide_note(event, rules, link, echoes=echoes, synced_as=synced_as)
        return decide_incident_event(event, rules, link, echoes=echoes)
    if is_comment(event) and event.changed("status") is None:
        return decide_comment(event, rules, link, echoes=echoes, synced_as=synced_as)
    decision = decide_issue_event(event, rules, link, echoes=echoes)
    if is_comment(event):  # a transition with a comment: both are synced
        comment = decide_comment(event, rules, link, echoes=echoes, synced_as=synced_as)
        return Decision(
            commands=decision.commands + comment.commands,
            verdicts=decision.verdicts + comment.verdicts,
        )
    return decision


# ------------------------------------------------------------------------------ helpers


class _Skip(Exception):
    """A rule does not apply; raised inside this module only, to keep each check one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _fold(
    rules: Sequence[SyncRule],
    consider: Callable[[SyncRule, str | None], tuple[Command, str]],
) -> Decision:
    """Ask every rule; the first rule that produces a command owns the action for this event.

    Later rules that would act too are skipped, naming the owner: one issue per incident, one
    transition per incident event, one resolve per issue event.
    """
    commands: list[Command] = []
    verdicts: list[RuleVerdict] = []
    owner: str | None = None
    for rule in rules:
        try:
            command, reason = consider(rule, owner)
        except _Skip as skip:
            verdicts.append(RuleVerdict(rule=rule.name, matched=False, reason=skip.reason))
            continue
        owner = rule.name
        commands.append(command)
        verdicts.append(RuleVerdict(rule=rule.name, matched=True, reason=reason))
    return Decision(commands=tuple(commands), verdicts=tuple(verdicts))


def _summary(event: IncidentEvent) -> str:
    # A Jira summary is one line of at most 255 characters.
    title = " ".join(event.title.split()) or f"PagerDuty incident #{event.number}"
    if len(title) <= JIRA_SUMMARY_MAX:
        return title
    return title[: JIRA_SUMMARY_MAX - 3].rstrip() + "..."


def _description(event: IncidentEvent) -> str:
    service = event.service_name or event.service_id or "unknown"
    lines = [
        f"PagerDuty incident #{event.number}: {event.title}",
        f"Service: {service} ({event.service_id})",
        f"Urgency: {event.urgency or 'unknown'}",
    ]
    if event.priority:
        lines.append(f"Priority: {event.priority}")
    lines.append(f"Incident: {event.html_url}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ PagerDuty


def decide_incident_event(
    event: IncidentEvent,
    rules: Sequence[SyncRule],
    link: Link | None,
    *,
    echoes: frozenset[str] = frozenset(),
) -> Decision:
    """incident.triggered -> CreateIssue; acknowledged/resolved -> TransitionIssue."""

    def consider(rule: SyncRule, owner: str | None) -> tuple[Command, str]:
        if rule.account != event.account:
            raise _Skip(f"account {event.account!r} is not the rule's account {rule.account!r}")
        if event.event_type in NOT_YET_SYNCED:
            raise _Skip(f"{event.event_type} is not synced yet (no action)")
        if event.event_type not in _LINK_DEPENDENT:
            raise _Skip(f"{event.event_type} is not synced by this rule set")
        if "status" in echoes and event.event_type != TRIGGERED:
            raise _Skip(f"{ECHO}: pdjira set the incident to {event.status!r}")
        if rule.services and event.service_id not in rule.services:
            raise _Skip(f"service {event.service_id} not in rule services {list(rule.services)}")
        if event.event_type == TRIGGERED:
            return _create(event, rule, link, owner)
        return _transition(event, rule, link, owner)

    return _fold(rules, consider)


def _create(
    event: IncidentEvent, rule: SyncRule, link: Link | None, owner: str | None
) -> tuple[Command, str]:
    if not rule.create_on_trigger:
        raise _Skip("create_on_trigger is off")
    if link is not None:
        raise _Skip(
            f"incident already linked to {link.issue.key} on {link.issue.instance}; "
            "not creating another issue"
        )
    if owner is not None:
        raise _Skip(f"rule {owner!r} already creates the issue (one issue per incident)")
    command = CreateIssue(
        command_id=create_command_id(event.account, event.incident_id),
        correlation_id=event.correlation_id,
        incident=event.incident,
        instance=rule.instance,
        project=rule.project,
        issue_type=rule.issue_type,
        summary=_summary(event),
        description=_description(event),
        labels=LABELS,
    )
    return command, f"create {rule.issue_type} in {rule.instance}/{rule.project}"


def _transition(
    event: IncidentEvent, rule: SyncRule, link: Link | None, owner: str | None
) -> tuple[Command, str]:
    acknowledged = event.event_type == ACKNOWLEDGED
    setting = "on_acknowledge" if acknowledged else "on_resolve"
    target = rule.on_acknowledge if acknowledged else rule.on_resolve
    if target is None:
        raise _Skip(f"{setting} is not configured")
    if link is not None and link.issue.instance != rule.instance:
        raise _Skip(
            f"incident is linked to {link.issue.key} on instance {link.issue.instance!r}, "
            f"not the rule's instance {rule.instance!r}"
        )
    if link is None and not rule.create_on_trigger:
        raise _Skip("incident not linked (and this rule does not create issues)")
    if owner is not None:
        raise _Skip(f"rule {owner!r} already transitions the issue of this incident")
    command = TransitionIssue(
        command_id=f"{event.event_id}:transition",
        correlation_id=event.correlation_id,
        incident=event.incident,
        instance=rule.instance,
        target_status=target,
        resolution=None if acknowledged else rule.resolution,
        caused_at=event.occurred_at or None,
    )
    where = (
        link.issue.key
        if link
        else "the issue once created (not linked yet; jira-writer waits for the link)"
    )
    return command, f"{setting}: move {where} to {target!r}"


# ------------------------------------------------------------------------------ Jira


def decide_issue_event(
    event: IssueEvent,
    rules: Sequence[SyncRule],
    link: Link | None,
    *,
    echoes: frozenset[str] = frozenset(),
) -> Decision:
    """A status change to one of a rule's resolve_when_status -> UpdateIncident(resolved)."""
    change = event.changed("status")

    def consider(rule: SyncRule, owner: str | None) -> tuple[Command, str]:
        if rule.instance != event.instance:
            raise _Skip(f"instance {event.instance!r} is not the rule's instance {rule.instance!r}")
        if change is None:
            raise _Skip("no status change in this event")
        if "status" in echoes:
            raise _Skip(f"{ECHO}: pdjira moved the issue to {change.to_string or event.status!r}")
        if event.project_key.casefold() != rule.project.casefold():
            raise _Skip(f"project {event.project_key} is not the rule's project {rule.project}")
        if not rule.resolve_when_status:
            raise _Skip("resolve_when_status is empty: status changes do not resolve incidents")
        status = change.to_string or event.status
        wanted = {s.casefold() for s in rule.resolve_when_status}
        if status.casefold() not in wanted:
            raise _Skip(
                f"status {status!r} not in resolve_when_status {list(rule.resolve_when_status)}"
            )
        if link is None:
            raise _Skip(f"issue {event.key} is not linked to an incident")
        if link.incident.account != rule.account:
            raise _Skip(
                f"issue is linked to an incident of account {link.incident.account!r}, "
                f"not the rule's account {rule.account!r}"
            )
        if owner is not None:
            raise _Skip(f"rule {owner!r} already resolves the incident")
        command = UpdateIncident(
            command_id=f"{event.event_id}:resolve",
            correlation_id=event.correlation_id,
            incident=link.incident,
            status="resolved",
            cause=event.issue,
            actor_user_key=event.user_key,
            caused_at=iso_from_ms(event.timestamp_ms) if event.timestamp_ms else None,
        )
        return command, f"status {status!r} resolves incident {link.incident.incident_id}"

    return _fold(rules, consider)


# ------------------------------------------------------------------------------ notes, comments


def decide_note(
    event: IncidentEvent,
    rules: Sequence[SyncRule],
    link: Link | None,
    *,
    echoes: frozenset[str] = frozenset(),
    synced_as: str | None = None,
) -> Decision:
    """A new note on a linked incident -> AddComment on its issue (once per note)."""
    note_id = event.note_id or ""

    def consider(rule: SyncRule, owner: str | None) -> tuple[Command, str]:
        if rule.account != event.account:
            raise _Skip(f"account {event.account!r} is not the rule's account {rule.account!r}")
        if "note" in echoes:
            raise _Skip(f"{ECHO}: pdjira added this note (mirroring a Jira comment)")
        if link is None:
            raise _Skip(f"incident {event.incident_id} is not linked to an issue; note not synced")
        if link.issue.instance != rule.instance:
            raise _Skip(
                f"incident is linked to {link.issue.key} on instance {link.issue.instance!r}, "
                f"not the rule's instance {rule.instance!r}"
            )
        if synced_as is not None:
            raise _Skip(f"note {note_id} is already synced (comment {synced_as})")
        if owner is not None:
            raise _Skip(f"rule {owner!r} already syncs this note (one comment per note)")
        author = event.agent_id if event.agent_type == "user_reference" else None
        command = AddComment(
            command_id=note_command_id(event.account, note_id),
            correlation_id=event.correlation_id,
            incident=event.incident,
            instance=link.issue.instance,
            note_id=note_id,
            body=event.note_content or "",
            author_pd_user_id=author,
        )
        return command, f"note {note_id} -> comment on {link.issue.key}"

    return _fold(rules, consider)


def decide_comment(
    event: IssueEvent,
    rules: Sequence[SyncRule],
    link: Link | None,
    *,
    echoes: frozenset[str] = frozenset(),
    synced_as: str | None = None,
) -> Decision:
    """A new comment on a linked issue -> AddNote on its incident (once per comment)."""
    comment_id = event.comment_id or ""

    def consider(rule: SyncRule, owner: str | None) -> tuple[Command, str]:
        if rule.instance != event.instance:
            raise _Skip(f"instance {event.instance!r} is not the rule's instance {rule.instance!r}")
        if event.project_key.casefold() != rule.project.casefold():
            raise _Skip(f"project {event.project_key} is not the rule's project {rule.project}")
        if "comment" in echoes:
            raise _Skip(f"{ECHO}: pdjira added this comment (mirroring a PagerDuty note)")
        if link is None:
            raise _Skip(f"issue {event.key} is not linked to an incident; comment not synced")
        if link.incident.account != rule.account:
            raise _Skip(
                f"issue is linked to an incident of account {link.incident.account!r}, "
                f"not the rule's account {rule.account!r}"
            )
        if synced_as is not None:
            raise _Skip(f"comment {comment_id} is already synced (note {synced_as})")
        if owner is not None:
            raise _Skip(f"rule {owner!r} already syncs this comment (one note per comment)")
        command = AddNote(
            command_id=comment_command_id(event.instance, comment_id),
            correlation_id=event.correlation_id,
            incident=link.incident,
            issue=event.issue,
            comment_id=comment_id,
            body=event.comment_body or "",
            author_jira_user_key=event.user_key,
        )
        return command, f"comment {comment_id} -> note on incident {link.incident.incident_id}"

    return _fold(rules, consider)
