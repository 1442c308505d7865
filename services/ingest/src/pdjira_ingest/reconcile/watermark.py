"""Reconciliation watermarks in KV ``pdjira_reconcile``: per target, the end of the last poll
whose every event was stored. Written with CAS, so two pollers never both move it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import msgspec
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue

from pdjira_ingest.stable_ids import instant

__all__ = ["Mark", "Watermarks"]


class _Stored(msgspec.Struct, frozen=True, kw_only=True):
    until: str  # ISO 8601, UTC


@dataclass(frozen=True, slots=True)
class Mark:
    at: datetime | None  # None: never polled (or unreadable): a first start
    revision: int | None


class Watermarks:
    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv

    async def read(self, key: str) -> Mark:
        try:
            entry = await self._kv.get(key)
        except KeyNotFoundError:
            return Mark(at=None, revision=None)
        try:
            stored = msgspec.json.decode(entry.value or b"", type=_Stored)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return Mark(at=None, revision=entry.revision)
        return Mark(at=instant(stored.until), revision=entry.revision)

    async def advance(self, key: str, mark: Mark, until: datetime) -> None:
        """Move the watermark to ``until``; raises if another poller moved it meanwhile."""
        value = msgspec.json.encode(_Stored(until=until.isoformat()))
        if mark.revision is None:
            await self._kv.create(key, value)
        else:
            await self._kv.update(key, value, last=mark.revision)
