"""Typed records in one KV bucket, opened on first use: a record that is absent is None, and a
bucket that does not answer is a retry (``Retryable``), never taken as "absent" (each store that
uses it would then act on a wrong belief: run a command twice, drop an event, undo a change)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import msgspec
from faststream.nats import NatsBroker
from nats.errors import Error as NatsError
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from nats.js.kv import KeyValue

from pdjira_common.retry import Retryable

__all__ = ["KvRecords", "bucket_opener"]

T = TypeVar("T")


def bucket_opener(broker: NatsBroker, bucket: str) -> Callable[[], Awaitable[KeyValue]]:
    """Opens ``bucket`` through ``broker``'s connection (declared once, in streams.py)."""

    async def open_bucket() -> KeyValue:
        kv: KeyValue = await broker.key_value(bucket, declare=False)
        return kv

    return open_bucket


class KvRecords(Generic[T]):
    """Records of type ``kind``; ``what`` in each call names the record in a retry's reason."""

    def __init__(self, open_bucket: Callable[[], Awaitable[KeyValue]], kind: type[T]) -> None:
        self._open_bucket = open_bucket
        self._kv: KeyValue | None = None
        self._decoder = msgspec.json.Decoder(kind)
        self._encoder = msgspec.json.Encoder()

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self._open_bucket()
        return self._kv

    async def get(self, key: str, what: str) -> T | None:
        """The record (None: absent, or an empty value); raises ``msgspec`` errors if unreadable."""
        try:
            entry = await (await self._bucket()).get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        except (NatsError, TimeoutError) as exc:
            raise Retryable(f"reading {what} failed: {exc}") from exc
        return self._decoder.decode(entry.value) if entry.value else None

    async def put(self, key: str, value: T, what: str) -> None:
        try:
            await (await self._bucket()).put(key, self._encoder.encode(value))
        except (NatsError, TimeoutError) as exc:
            raise Retryable(f"recording {what} failed: {exc}") from exc

    async def delete(self, key: str, what: str) -> None:
        try:
            await (await self._bucket()).delete(key)
        except (KeyNotFoundError, KeyDeletedError):
            return
        except (NatsError, TimeoutError) as exc:
            raise Retryable(f"forgetting {what} failed: {exc}") from exc
