"""Early events wait, not drop (pure).

When rules sends a create (an issue for an incident, an incident for an issue), the entity is
marked "link pending" until the writer's outcome records the link. A note, comment, status or
priority change of that entity arriving meanwhile would be skipped as "not linked" and lost:
instead it waits for the link (its lane waits, other entities flow), bounded by ``link_wait``
seconds, then goes to the DLQ with the reason. With neither link nor mark it is decided as now
(skipped, audited as not linked).

Incident status events are not held here: the engine already sends their transition for an
issue the rule creates, and jira-writer holds it until the issue exists.

Nor is any event of an entity pdjira itself is creating decided before its link: the incident
created for an issue carries the issue's key as ``incident_key``, the issue created for an
incident its label. Its trigger (or create webhook) can come before the writer's outcome has
recorded the link; decided then, a rule that creates issues for incidents (or incidents for
matching issues) would make a second one. It waits on the create's mark like a note does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from msgspec import UNSET
from pdjira_common.contracts import (
    Command,
    CreateIncident,
    CreateIssue,
    Event,
    IncidentEvent,
    Link,
)
from pdjira_common.ownership import created_for_incident, incident_key_for

from pdjira_rules.echoes import entity_of
from pdjira_rules.engine.incident_facts import PRIORITY_UPDATED

__all__ = [
    "LinkGate",
    "NeverLinked",
    "PendingLink",
    "WaitForLink",
    "awaits_link",
    "created_by_itself",
    "creation_mark_key",
    "link_gate",
    "link_needed_for",
    "pending_key",
    "pending_marks",
]


class PendingLink(msgspec.Struct, frozen=True, kw_only=True):
    """A mark in KV ``pdjira_pending``: the create in flight for an entity, and since when."""

    command: str  # "CreateIssue" / "CreateIncident"
    command_id: str
    correlation_id: str
    sent_at: str  # ISO time rules sent the create


@dataclass(frozen=True, slots=True)
class WaitForLink:
    reason: str


@dataclass(frozen=True, slots=True)
class NeverLinked:
    reason: str


LinkGate = WaitForLink | NeverLinked | None  # None: decide now


def _key(system: str, target: str, entity_id: str) -> str:
    # Hashed: any id length or character makes a valid, bounded KV key, without collisions.
    digest = hashlib.sha256(f"{target}\n{entity_id}".encode()).hexdigest()[:40]
    return f"{system}.{digest}"


def pending_key(event: Event) -> str:
    """The mark's key of the event's entity (the incident, or the issue)."""
    if isinstance(event, IncidentEvent):
        return _key("pd", event.account, event.incident_id)
    return _key("jira", event.instance, event.issue_id)


def _marked_keys(command: Command) -> tuple[str, ...]:
    """The keys a create marks (none for any other command)."""
    if isinstance(command, CreateIssue):
        return (_key("pd", command.incident.account, command.incident.incident_id),)
    if isinstance(command, CreateIncident):
        return (
            _key("jira", command.issue.instance, command.issue.issue_id),
            # The incident it makes is known by its incident_key (creation_mark_key).
            _key("pdkey", command.account, incident_key_for(command.issue)),
        )
    return ()


def pending_marks(
    commands: Iterable[Command], *, sent_at: datetime
) -> tuple[tuple[str, PendingLink], ...]:
    """The marks to set for the creates among ``commands`` (key, value)."""
    marks: list[tuple[str, PendingLink]] = []
    for command in commands:
        mark = PendingLink(
            command=type(command).__name__,
            command_id=command.command_id,
            correlation_id=command.correlation_id,
            sent_at=sent_at.isoformat(),
        )
        marks.extend((key, mark) for key in _marked_keys(command))
    return tuple(marks)


def creation_mark_key(event: Event) -> str | None:
    """The mark of the create by which pdjira is making the event's entity, when the entity
    says pdjira made it for the other side (None: it does not)."""
    if isinstance(event, IncidentEvent):
        key = event.facts.incident_key if event.facts is not None else None
        return _key("pdkey", event.account, key) if key else None
    labels = event.fields.labels
    incident = created_for_incident(labels) if labels is not UNSET else None
    return _key("pd", incident.account, incident.incident_id) if incident else None


def link_needed_for(event: Event) -> str | None:
    """What of the event only the link makes possible (None: nothing worth waiting for)."""
    if isinstance(event, IncidentEvent):
        if event.is_note:
            return "note"
        return "priority change" if event.event_type == PRIORITY_UPDATED else None
    if event.is_comment:
        return "comment"
    if event.changed("status") is not None:
        return "status change"
    return "priority change" if event.changed("priority") is not None else None


def awaits_link(event: Event, link: Link | None) -> bool:
    """Whether a pending mark matters: no link yet, and the event needs one."""
    return link is None and link_needed_for(event) is not None


def link_gate(
    event: Event,
    link: Link | None,
    pending: PendingLink | None,
    *,
    arrived: datetime,
    now: datetime,
    limit: float,
    what: str | None = None,
) -> LinkGate:
    """Decide now (None), wait for the link, or give up: the link has not come within ``limit``
    seconds of the later of the create and the event's arrival. ``what`` the event needs the
    link for (default: ``link_needed_for``)."""
    what = what or link_needed_for(event)
    if link is not None or pending is None or what is None:
        return None
    sent = _parsed(pending.sent_at) or arrived
    deadline = max(sent, arrived) + timedelta(seconds=limit)
    made = "issue" if isinstance(event, IncidentEvent) else "incident"
    create = f"{pending.command} {pending.command_id} sent at {pending.sent_at}"
    if now >= deadline:
        return NeverLinked(
            f"{made} never got linked within {limit:g} s: the {what} of {entity_of(event)} "
            f"(event {event.event_id}) waited for {create}"
        )
    return WaitForLink(
        f"the {what} of {entity_of(event)} waits for its {made} to be linked ({create}); "
        f"dead-lettered if not linked by {deadline.isoformat()}"
    )


def _parsed(iso: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def created_by_itself(event: Event, commands: Iterable[Command]) -> str | None:
    """Why ``event`` must be decided again once linked: it needs the link (a comment, a status
    change...) and is itself what made its entity's create (a JQL matched on this very
    update), so what it needs the link for was left out this time. None: nothing left out."""
    what = link_needed_for(event)
    if what is None:
        return None
    own = pending_key(event)
    create = next((c for c in commands if own in _marked_keys(c)), None)
    if create is None:
        return None
    made = "issue" if isinstance(event, IncidentEvent) else "incident"
    return (
        f"the {what} of {entity_of(event)} made its {made} ({type(create).__name__} "
        f"{create.command_id}); it is decided again once that is linked"
    )
