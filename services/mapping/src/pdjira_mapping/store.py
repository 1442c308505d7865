"""The link registry on a JetStream KV bucket: create-only writes, so the first link wins."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import msgspec
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pdjira_common.contracts import IncidentRef, Link, encode

from pdjira_mapping.links import (
    INCIDENT_KEYS,
    Verdict,
    incident_key,
    issue_key,
    issue_key_index,
    judge,
)

__all__ = ["KvLinkStore", "Recorded"]

_link_decoder = msgspec.json.Decoder(Link)
# A key can vanish between a failed create and the read (an operator deleting it): try again,
# but a bounded number of times.
_CREATE_ATTEMPTS = 5
# Links are kept in memory, filled by a watch on the bucket (and by reads): a link never
# changes, it is only removed, and the watch (plus a broadcast on unlink) tells every replica.
# A lookup that misses memory still reads KV: "not linked" is never answered from memory.
_CACHE_MAX = 2_000_000
_LINK_PREFIXES = ("pd.", "jira.")


@dataclass(frozen=True, slots=True)
class Recorded:
    """Result of recording a link; on CONFLICT, ``key`` and ``existing`` say what won."""

    verdict: Verdict
    key: str | None = None
    existing: Link | None = None


class KvLinkStore:
    """Links in the KV bucket, under one key per side (see :mod:`pdjira_mapping.links`)."""

    def __init__(
        self,
        open_bucket: Callable[[], Awaitable[KeyValue]],
        *,
        on_removed: Callable[[list[str]], Awaitable[None]] | None = None,
    ) -> None:
        # Opened lazily: subscribers may receive a message before any startup hook runs.
        self._open_bucket = open_bucket
        self._kv: KeyValue | None = None
        self._cache: dict[str, Link] = {}
        # Tells the other replicas which keys were removed (see forget_cached).
        self._on_removed = on_removed

    def cached(self) -> int:
        return len(self._cache)

    def forget_cached(self, keys: list[str]) -> None:
        for key in keys:
            self._cache.pop(key, None)

    async def follow(self) -> None:
        """Keep the in-memory copy of every link current; runs until cancelled."""
        kv = await self._bucket()
        watcher = await kv.watchall()
        me = asyncio.current_task()
        try:
            while True:
                try:
                    entry = await watcher.updates(timeout=60.0)  # type: ignore[no-untyped-call]
                except TimeoutError:
                    continue
                if me is not None and me.cancelling():
                    # Python 3.11's wait_for (inside updates) returns an entry that arrived as
                    # the task was cancelled and swallows the cancellation: stop all the same.
                    raise asyncio.CancelledError
                if entry is None or not entry.key.startswith(_LINK_PREFIXES):
                    continue
                if entry.operation in ("DEL", "PURGE") or not entry.value:
                    self._cache.pop(entry.key, None)
                elif len(self._cache) < _CACHE_MAX:
                    self._cache[entry.key] = _link_decoder.decode(entry.value)
        finally:
            # Bounded: stopping must never hold up the service's shutdown.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(watcher.stop(), 2.0)  # type: ignore[no-untyped-call]

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await self._open_bucket()
        return self._kv

    async def record(self, link: Link) -> Recorded:
        """Write both keys with compare-and-set against nothing; never overwrite a link."""
        first = await self._create(incident_key(link.incident), link)
        if first.verdict is Verdict.CONFLICT:
            return first
        # Written even when the incident key already held the link: a crash between the two
        # writes leaves the issue key missing, and the redelivered outcome completes it.
        second = await self._create(issue_key(link.issue.instance, link.issue.issue_id), link)
        if second.verdict is Verdict.CONFLICT:
            return second
        # The lookup by issue key (admin, CLI); a key that moved is found by id still.
        kv = await self._bucket()
        await kv.put(issue_key_index(link.issue.instance, link.issue.key), encode(link))
        return first

    async def by_issue_key(self, instance: str, key: str) -> Link | None:
        """The link of the issue that had key ``key`` when it was linked."""
        link = await self._get(issue_key_index(instance, key))
        if link is None:
            return None
        # Confirm against the authoritative key (the index is not cleaned on every change).
        return await self.by_issue(link.issue.instance, link.issue.issue_id)

    async def unlink(self, link: Link) -> None:
        """Remove the link under all its keys; the incident and issue can then be linked anew."""
        kv = await self._bucket()
        keys = [
            incident_key(link.incident),
            issue_key(link.issue.instance, link.issue.issue_id),
            issue_key_index(link.issue.instance, link.issue.key),
        ]
        for key in keys:
            await kv.delete(key)
        self.forget_cached(keys)
        if self._on_removed is not None:
            await self._on_removed(keys)

    async def export(self) -> AsyncIterator[Link]:
        """Every link once (read from the incident side), as a stream: no list of them all."""
        kv = await self._bucket()
        watcher = await kv.watch(INCIDENT_KEYS, ignore_deletes=True)
        try:
            while True:
                entry = await watcher.updates(timeout=10.0)  # type: ignore[no-untyped-call]
                if entry is None:  # the end of what is stored now
                    return
                if entry.value:
                    yield _link_decoder.decode(entry.value)
        finally:
            await watcher.stop()  # type: ignore[no-untyped-call]

    async def by_incident(self, incident: IncidentRef) -> Link | None:
        return await self._get(incident_key(incident))

    async def by_issue(self, instance: str, issue_id: str) -> Link | None:
        return await self._get(issue_key(instance, issue_id))

    async def _create(self, key: str, link: Link) -> Recorded:
        kv = await self._bucket()
        for _ in range(_CREATE_ATTEMPTS):
            try:
                await kv.create(key, encode(link))
            except KeyWrongLastSequenceError:
                existing = await self._get(key)
                if existing is None:
                    continue
                verdict = judge(existing, link)
                return Recorded(verdict, key=key, existing=existing)
            return Recorded(Verdict.CREATED, key=key)
        raise RuntimeError(f"KV key {key} kept changing while recording a link")

    async def _get(self, key: str) -> Link | None:
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        kv = await self._bucket()
        try:
            entry = await kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        if entry.value is None:
            return None
        link = _link_decoder.decode(entry.value)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[key] = link
        return link
