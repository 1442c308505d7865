"""A KV bucket holding one msgspec type, with compare-and-set updates (I/O edge)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import msgspec
from nats.js.errors import (
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)
from nats.js.kv import KeyValue
from pdjira_common.contracts import encode

__all__ = ["TypedBucket"]

T = TypeVar("T", bound=msgspec.Struct)
_CAS_ATTEMPTS = 20


class TypedBucket(Generic[T]):
    """Values of type ``T`` under string keys; the bucket is opened on first use."""

    def __init__(self, open_bucket: Callable[[], Awaitable[KeyValue]], type_: type[T]) -> None:
        self._open_bucket = open_bucket
        self._kv: KeyValue | None = None
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_)

    async def bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self._open_bucket()
        return self._kv

    async def get(self, key: str) -> T | None:
        return (await self._entry(key))[0]

    async def _entry(self, key: str) -> tuple[T | None, int]:
        kv = await self.bucket()
        try:
            entry = await kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None, 0
        if not entry.value:
            return None, 0
        return self._decoder.decode(entry.value), entry.revision or 0

    async def put(self, key: str, value: T) -> None:
        await (await self.bucket()).put(key, encode(value))

    async def create(self, key: str, value: T) -> bool:
        """Write ``value`` only if ``key`` holds nothing; False if it does."""
        try:
            await (await self.bucket()).create(key, encode(value))
        except KeyWrongLastSequenceError:
            return False
        return True

    async def delete(self, key: str) -> None:
        await (await self.bucket()).delete(key)

    async def update(self, key: str, change: Callable[[T | None], T | None]) -> T | None:
        """Apply ``change`` to the current value with compare-and-set (retried on a race);
        a None result deletes the key. Returns what was written."""
        kv = await self.bucket()
        for _ in range(_CAS_ATTEMPTS):
            current, revision = await self._entry(key)
            new = change(current)
            try:
                if new is None:
                    if revision:
                        await kv.delete(key, last=revision)
                    return None
                data = encode(new)
                if revision:
                    await kv.update(key, data, last=revision)
                else:
                    await kv.create(key, data)
            except KeyWrongLastSequenceError:
                continue
            return new
        raise RuntimeError(f"KV key {key} kept changing; gave up after {_CAS_ATTEMPTS} attempts")

    async def keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (a subject filter, e.g. ``manual.pd.>``)."""
        kv = await self.bucket()
        # (KeyValue.keys' filters match substrings, not subjects: watch the subject instead.)
        watcher = await kv.watch(prefix, ignore_deletes=True, meta_only=True)
        keys: list[str] = []
        try:
            while True:
                entry = await watcher.updates(timeout=10.0)  # type: ignore[no-untyped-call]
                if entry is None:  # the end of what is stored now
                    return keys
                keys.append(entry.key)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]
