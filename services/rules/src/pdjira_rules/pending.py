"""The "link pending" marks in KV bucket ``pdjira_pending`` (declared in streams.py, with a TTL
that cleans marks whose link came long ago). See :mod:`pdjira_rules.link_wait`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec
from nats.js.kv import KeyValue
from pdjira_common.kv_records import KvRecords
from pdjira_common.logging import get_logger

from pdjira_rules.link_wait import PendingLink

__all__ = ["KvPendingLinks", "PendingLinks"]

_log = get_logger(__name__)
_decoder = msgspec.json.Decoder(PendingLink)
_encoder = msgspec.json.Encoder()


class PendingLinks(Protocol):
    async def get(self, key: str) -> PendingLink | None: ...

    async def mark(self, key: str, value: PendingLink) -> None: ...


class KvPendingLinks:
    """The marks in KV; the bucket is opened on first use. No answer is retried, never taken
    as "no mark": that would drop the very event the mark is there to keep."""

    def __init__(self, open_bucket: Callable[[], Awaitable[KeyValue]]) -> None:
        self._records = KvRecords(open_bucket, PendingLink)

    async def get(self, key: str) -> PendingLink | None:
        try:
            return await self._records.get(key, f"the pending-link mark {key}")
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            _log.warning("pending_mark_unreadable", key=key, reason=str(exc))
            return None

    async def mark(self, key: str, value: PendingLink) -> None:
        await self._records.put(key, value, f"the pending-link mark {key}")
