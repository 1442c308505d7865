"""The "link pending" marks in KV bucket ``pdjira_pending`` (declared in streams.py, with a TTL
that cleans marks whose link came long ago). See :mod:`pdjira_rules.link_wait`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec
from nats.errors import Error as NatsError
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue
from pdjira_common.logging import get_logger
from pdjira_common.retry import Retryable

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
        self._open_bucket = open_bucket
        self._kv: KeyValue | None = None

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self._open_bucket()
        return self._kv

    async def get(self, key: str) -> PendingLink | None:
        try:
            entry = await (await self._bucket()).get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        except (NatsError, TimeoutError) as exc:
            raise Retryable(f"reading the pending-link mark {key} failed: {exc}") from exc
        try:
            return _decoder.decode(entry.value or b"")
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            _log.warning("pending_mark_unreadable", key=key, reason=str(exc))
            return None

    async def mark(self, key: str, value: PendingLink) -> None:
        try:
            await (await self._bucket()).put(key, _encoder.encode(value))
        except (NatsError, TimeoutError) as exc:
            raise Retryable(f"recording the pending-link mark {key} failed: {exc}") from exc
