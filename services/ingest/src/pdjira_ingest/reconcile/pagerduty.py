"""PagerDuty changes -> synthetic IncidentEvents (pure), as the webhooks would have said them:
log entries become status events, notes of the window ``incident.annotated`` events."""

from __future__ import annotations

from collections import Counter
from typing import Final

import msgspec
from pdjira_common.contracts import IncidentEvent, IncidentStatus
from pdjira_common.facts import IncidentFacts, PdNote
from pdjira_common.requests import PdIncidentChanges, PdLogEntry

from pdjira_ingest.reconcile.changes import ORIGIN, Change, Kind, Window
from pdjira_ingest.stable_ids import (
    instant,
    pd_note_id,
    pd_status_id,
    status_key,
    to_the_second,
)

__all__ = ["incident_changes", "incident_create"]

# log entry type -> (webhook event type, status after it); triggers are told apart below.
_STATUS_ENTRIES: Final[dict[str, tuple[str, IncidentStatus]]] = {
    "acknowledge_log_entry": ("incident.acknowledged", "acknowledged"),
    "unacknowledge_log_entry": ("incident.unacknowledged", "triggered"),
    "resolve_log_entry": ("incident.resolved", "resolved"),
}
_TRIGGER: Final = "trigger_log_entry"


def _event_type(entry: PdLogEntry, incident: PdIncidentChanges) -> tuple[str, IncidentStatus]:
    """A trigger entry is the incident's trigger when it is its first (by id or by time),
    a reopen otherwise."""
    if entry.type != _TRIGGER:
        return _STATUS_ENTRIES[entry.type]
    first = entry.id == incident.first_trigger_log_entry or (
        incident.created_at is not None
        and to_the_second(entry.created_at) == to_the_second(incident.created_at)
    )
    return ("incident.triggered" if first else "incident.reopened"), "triggered"


def _facts(incident: PdIncidentChanges, status: IncidentStatus) -> IncidentFacts:
    """The incident now, with the status the change left it in."""
    if incident.facts is None:
        return IncidentFacts(status=status)
    return msgspec.structs.replace(incident.facts, status=status)


def _status_change(
    account: str, incident: PdIncidentChanges, entry: PdLogEntry, seen: Counter[str]
) -> Change | None:
    at = instant(entry.created_at)
    if at is None or (entry.type != _TRIGGER and entry.type not in _STATUS_ENTRIES):
        return None
    event_type, status = _event_type(entry, incident)
    key = status_key(event_type, entry.created_at)
    if key is None:
        return None
    nth, seen[key] = seen[key], seen[key] + 1  # several alike in one second: each its own id
    change_id = pd_status_id(account, incident.incident_id, event_type, entry.created_at, nth)
    if change_id is None:
        return None
    event = IncidentEvent(
        event_id=change_id,
        correlation_id=change_id,
        account=account,
        incident_id=incident.incident_id,
        event_type=event_type,
        occurred_at=entry.created_at,
        title=incident.title,
        html_url=incident.html_url,
        agent=entry.agent,
        facts=_facts(incident, status),
        origin=ORIGIN,
    )
    kind: Kind = "create" if event_type == "incident.triggered" else "update"
    return Change(event=event, at=at, kind=kind, webhook_key=key)


def incident_changes(account: str, incident: PdIncidentChanges, window: Window) -> list[Change]:
    """The incident's status changes and notes in ``window``, oldest first."""
    seen: Counter[str] = Counter()
    found = [_status_change(account, incident, entry, seen) for entry in incident.log_entries]
    for note in incident.notes:
        at = instant(note.created_at)
        if at is None:
            continue
        change_id = pd_note_id(account, incident.incident_id, note.id)
        event = IncidentEvent(
            event_id=change_id,
            correlation_id=change_id,
            account=account,
            incident_id=incident.incident_id,
            event_type="incident.annotated",
            occurred_at=note.created_at,
            # As the webhook: a note's event knows its incident only by reference.
            title=incident.title,
            html_url=incident.html_url,
            agent=note.user,
            note=PdNote(id=note.id, content=note.content),
            origin=ORIGIN,
        )
        found.append(Change(event=event, at=at, kind="note"))
    changes = [c for c in found if c is not None and c.at in window]
    return sorted(changes, key=lambda c: c.at)


def incident_create(account: str, incident: PdIncidentChanges) -> Change | None:
    """The incident's trigger as its webhook said it (the facts as they are now): what repair
    re-publishes for an incident that has no link."""
    at = instant(incident.created_at or "")
    if at is None or incident.created_at is None:
        return None
    change_id = pd_status_id(
        account, incident.incident_id, "incident.triggered", incident.created_at
    )
    if change_id is None:
        return None
    event = IncidentEvent(
        event_id=change_id,
        correlation_id=change_id,
        account=account,
        incident_id=incident.incident_id,
        event_type="incident.triggered",
        occurred_at=incident.created_at,
        title=incident.title,
        html_url=incident.html_url,
        facts=_facts(incident, incident.facts.status if incident.facts else "triggered"),
        origin=ORIGIN,
    )
    return Change(event=event, at=at, kind="create")
