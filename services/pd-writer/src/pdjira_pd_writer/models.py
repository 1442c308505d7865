"""The parts of PagerDuty's REST v2 answers the writer reads (msgspec ignores the rest)."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["IncidentBody", "IncidentSnapshot", "IncidentStatus"]

IncidentStatus = Literal["triggered", "acknowledged", "resolved"]


class IncidentSnapshot(msgspec.Struct, frozen=True):
    id: str
    status: IncidentStatus


class IncidentBody(msgspec.Struct, frozen=True):
    """``{"incident": {...}}`` of ``GET`` and ``PUT /incidents/{id}``."""

    incident: IncidentSnapshot
