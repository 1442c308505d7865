"""The parts of PagerDuty's REST v2 answers the writer reads (msgspec ignores the rest)."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "IncidentBody",
    "IncidentList",
    "IncidentSnapshot",
    "IncidentStatus",
    "Note",
    "NoteBody",
    "User",
    "UserBody",
    "UserList",
]

IncidentStatus = Literal["triggered", "acknowledged", "resolved"]


class IncidentSnapshot(msgspec.Struct, frozen=True):
    id: str
    status: IncidentStatus
    incident_key: str | None = None


class IncidentBody(msgspec.Struct, frozen=True):
    """``{"incident": {...}}`` of ``GET`` and ``PUT /incidents/{id}``."""

    incident: IncidentSnapshot


class IncidentList(msgspec.Struct, frozen=True):
    """``{"incidents": [...]}`` of ``GET /incidents``."""

    incidents: tuple[IncidentSnapshot, ...] = ()


class Note(msgspec.Struct, frozen=True):
    id: str


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
