"""The parts of PagerDuty's REST v2 answers the writer reads (msgspec ignores the rest)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = [
    "IncidentBody",
    "IncidentList",
    "IncidentNote",
    "IncidentNoteList",
    "IncidentSnapshot",
    "IncidentStatus",
    "LogEntry",
    "LogEntryList",
    "Note",
    "NoteBody",
    "NoteList",
    "Priority",
    "PriorityList",
    "RawIncidentBody",
    "Reference",
    "Responder",
    "Service",
    "ServiceList",
    "User",
    "UserBody",
    "UserList",
]

IncidentStatus = Literal["triggered", "acknowledged", "resolved"]


class Reference(msgspec.Struct, frozen=True):
    """A ``*_reference`` (user, priority...): its id and what PagerDuty calls it."""

    id: str
    summary: str | None = None


class Responder(msgspec.Struct, frozen=True):
    """One of an incident's ``incidents_responders`` (requested, joined or declined)."""

    user: Reference
    state: str | None = None


class IncidentSnapshot(msgspec.Struct, frozen=True):
    id: str
    status: IncidentStatus
    incident_key: str | None = None
    # When and by whom (a user, a service, an integration) the status last changed: a write
    # caused before a person's change must not undo it.
    last_status_change_at: str | None = None
    last_status_change_by: Reference | None = None
    priority: Reference | None = None
    urgency: str | None = None
    incidents_responders: tuple[Responder, ...] = ()

    @property
    def responder_ids(self) -> frozenset[str]:
        return frozenset(r.user.id for r in self.incidents_responders)


class IncidentBody(msgspec.Struct, frozen=True):
    """``{"incident": {...}}`` of ``GET`` and ``PUT /incidents/{id}``."""

    incident: IncidentSnapshot


class IncidentList(msgspec.Struct, frozen=True):
    """``{"incidents": [...]}`` of ``GET /incidents``."""

    incidents: tuple[IncidentSnapshot, ...] = ()


class Note(msgspec.Struct, frozen=True):
    id: str
    content: str = ""


class NoteList(msgspec.Struct, frozen=True):
    """``{"notes": [...]}`` of ``GET /incidents/{id}/notes``."""

    notes: tuple[Note, ...] = ()


class NoteBody(msgspec.Struct, frozen=True):
    """``{"note": {...}}`` of ``POST /incidents/{id}/notes``."""

    note: Note


class User(msgspec.Struct, frozen=True):
    id: str
    email: str | None = None
    name: str | None = None


class UserBody(msgspec.Struct, frozen=True):
    user: User


class UserList(msgspec.Struct, frozen=True):
    users: tuple[User, ...] = ()


class Priority(msgspec.Struct, frozen=True):
    """A priority of ``GET /priorities``: ``summary`` is what webhooks call it ("P1")."""

    id: str
    name: str = ""
    summary: str | None = None

    @property
    def label(self) -> str:
        return self.summary or self.name or self.id


class PriorityList(msgspec.Struct, frozen=True):
    priorities: tuple[Priority, ...] = ()
    more: bool | None = False


class Service(msgspec.Struct, frozen=True):
    id: str
    name: str = ""
    summary: str | None = None


class ServiceList(msgspec.Struct, frozen=True):
    services: tuple[Service, ...] = ()
    more: bool | None = False


# ---------------------------------------------------------------- reconciliation reads


class LogEntry(msgspec.Struct, frozen=True):
    """A log entry of ``GET /log_entries``: ``agent`` as PagerDuty sends a reference."""

    id: str
    type: str
    created_at: str
    incident: Reference | None = None
    agent: dict[str, Any] | None = None


class LogEntryList(msgspec.Struct, frozen=True):
    log_entries: tuple[LogEntry, ...] = ()
    more: bool | None = False


class RawIncidentBody(msgspec.Struct, frozen=True):
    """``{"incident": {...}}`` kept whole: the poller reads its facts as a webhook's."""

    incident: dict[str, Any]


class IncidentNote(msgspec.Struct, frozen=True):
    id: str
    content: str = ""
    created_at: str = ""
    user: dict[str, Any] | None = None


class IncidentNoteList(msgspec.Struct, frozen=True):
    notes: tuple[IncidentNote, ...] = ()
