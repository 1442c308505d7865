"""The reconciliation read the pd-writer answers for ingest's poller: what changed in an account
in a time window (log entries, the incidents they concern, their notes), through the account's
client and so within its rate budget."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import msgspec
from faststream.nats import NatsBroker
from pdjira_common.facts import read_agent, read_incident
from pdjira_common.requests import (
    PdChangesRead,
    PdChangesReply,
    PdIncidentChanges,
    PdLogEntry,
    PdNoteChange,
)
from pdjira_writer.reads import read_from, serve_read

from pdjira_pd_writer.errors import PagerDutyError
from pdjira_pd_writer.models import IncidentNote, LogEntry
from pdjira_pd_writer.pd_client import PagerDutyApi
from pdjira_pd_writer.spec import SPEC

__all__ = [
    "REPLY_BUDGET",
    "SYNCED_LOG_ENTRIES",
    "PdChangesApi",
    "changed_incident",
    "incidents_in_order",
    "register_change_reads",
]

# The log entries a synced event can be rebuilt from (status changes and notes).
SYNCED_LOG_ENTRIES = frozenset(
    {
        "trigger_log_entry",
        "acknowledge_log_entry",
        "unacknowledge_log_entry",
        "resolve_log_entry",
        "annotate_log_entry",
    }
)
# A NATS reply must stay under the server's max_payload (1 MiB by default).
REPLY_BUDGET = 512 * 1024


@runtime_checkable
class PdChangesApi(Protocol):
    """The reads of a PagerDuty client the reconciliation poller needs."""

    async def log_entries_between(self, since: str, until: str) -> tuple[LogEntry, ...]: ...

    async def incident_json(self, incident_id: str) -> dict[str, Any]: ...

    async def incident_notes(self, incident_id: str) -> tuple[IncidentNote, ...]: ...


def _instant(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def incidents_in_order(entries: tuple[LogEntry, ...]) -> dict[str, list[LogEntry]]:
    """The synced log entries per incident, oldest first; incidents by their first entry."""
    by_incident: dict[str, list[LogEntry]] = {}
    for entry in sorted(entries, key=lambda e: (e.created_at, e.id)):
        if entry.type in SYNCED_LOG_ENTRIES and entry.incident is not None:
            by_incident.setdefault(entry.incident.id, []).append(entry)
    return by_incident


def changed_incident(
    incident: Mapping[str, Any],
    entries: list[LogEntry],
    notes: tuple[IncidentNote, ...],
    *,
    since: datetime,
    until: datetime,
) -> PdIncidentChanges:
    """One incident as the poller needs it: its facts now, its entries and the window's notes."""

    def in_window(note: IncidentNote) -> bool:
        created = _instant(note.created_at)
        return created is None or since <= created < until

    first = incident.get("first_trigger_log_entry")
    title = incident.get("title")
    url = incident.get("html_url")
    created = incident.get("created_at")
    return PdIncidentChanges(
        incident_id=str(incident.get("id")),
        title=title if isinstance(title, str) else "",
        html_url=url if isinstance(url, str) else "",
        created_at=created if isinstance(created, str) else None,
        first_trigger_log_entry=str(first["id"])
        if isinstance(first, dict) and "id" in first
        else None,
        # A webhook carries no description; leave it out here too (it can be large).
        facts=read_incident({**incident, "description": None}),
        log_entries=tuple(
            PdLogEntry(id=e.id, type=e.type, created_at=e.created_at, agent=read_agent(e.agent))
            for e in entries
        ),
        notes=tuple(
            PdNoteChange(
                id=n.id, content=n.content, created_at=n.created_at, user=read_agent(n.user)
            )
            for n in sorted(notes, key=lambda n: (n.created_at, n.id))
            if in_window(n)
        ),
    )


async def _changes(client: PagerDutyApi, request: PdChangesRead) -> PdChangesReply:
    if not isinstance(client, PdChangesApi):
        raise TypeError("this PagerDuty client cannot list changes")
    since, until = _instant(request.since), _instant(request.until)
    if since is None or until is None:
        return PdChangesReply(error="since and until must be ISO 8601 times")
    grouped = incidents_in_order(await client.log_entries_between(request.since, request.until))
    size = min(max(request.max_incidents, 1), 100)
    wanted = list(grouped)[request.offset : request.offset + size]
    found: list[PdIncidentChanges] = []
    for incident_id in wanted:
        entries = grouped[incident_id]
        try:
            incident = await client.incident_json(incident_id)
        except PagerDutyError as exc:
            if exc.status_code == 404:
                continue  # gone (merged or deleted): nothing to sync
            raise
        annotated = any(e.type == "annotate_log_entry" for e in entries)
        notes = await client.incident_notes(incident_id) if annotated else ()
        found.append(changed_incident(incident, entries, notes, since=since, until=until))
    return _within_budget(found, request.offset, len(wanted), len(grouped))


def _within_budget(
    found: list[PdIncidentChanges], offset: int, asked: int, total: int
) -> PdChangesReply:
    """Cut from the end until it fits :data:`REPLY_BUDGET`; ``next_offset`` then points at
    the first incident left out. (Incidents skipped as gone count as answered.)"""
    kept, answered = len(found), asked
    while True:
        after = offset + answered
        reply = PdChangesReply(
            incidents=tuple(found[:kept]), next_offset=after if after < total else None
        )
        if kept <= 1 or len(msgspec.json.encode(reply)) <= REPLY_BUDGET:
            return reply
        kept //= 2
        answered = kept


def register_change_reads(broker: NatsBroker, clients: Mapping[str, PagerDutyApi]) -> None:
    """``reads.pd.<account>.changes``, answered with the account's client."""

    async def changes(request: PdChangesRead) -> PdChangesReply:
        result = await read_from(
            clients, request.account, SPEC, "changes", lambda pd: _changes(pd, request)
        )
        return PdChangesReply(error=result) if isinstance(result, str) else result

    serve_read(broker, "reads.pd.*.changes", changes, queue=SPEC.name)
