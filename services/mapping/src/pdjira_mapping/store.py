"""The link registry on a JetStream KV bucket: create-only writes, so the first link wins."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import msgspec
import nats.errors
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
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

__all__ = ["CACHE_MAX_AGE", "CACHE_SIZE", "KvLinkStore", "Recorded"]

_link_decoder = msgspec.json.Decoder(Link)
# A key can vanish between a failed create and the read (an operator deleting it): try again,
# but a bounded number of times.
_CREATE_ATTEMPTS = 5
# Links are read from KV (a get, well under a millisecond) and the recent ones kept in a bounded
# LRU: nothing reads the whole bucket, so a million links cost no memory and no start time.
# A link never changes, it is only removed: an unlink is broadcast (LINKS_CHANGED) and every
# change to the bucket is watched (from now on, not the history), and both drop the key.
# "Not linked" is never kept: a link appears when created, and the next lookup must see it.
CACHE_SIZE = 50_000
# A safety net only: should an invalidation be missed (a replica cut off from NATS at that
# moment), no link is served from memory for longer than this.
CACHE_MAX_AGE = 300.0
# Only the authoritative keys are kept; the ``jirakey`` index is overwritten when a key moves.
_CACHED_PREFIXES = ("pd.", "jira.")
_EXPORT_BATCH = 1000  # links read per pull by an export


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
        cache_size: int = CACHE_SIZE,
        cache_max_age: float = CACHE_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Opened lazily: subscribers may receive a message before any startup hook runs.
        self._open_bucket = open_bucket
        self._kv: KeyValue | None = None
        # key -> (link, when it was read); least recently used first.
        self._cache: OrderedDict[str, tuple[Link, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_max_age = cache_max_age
        self._clock = clock
        # Counts invalidations: a read that was under way when one arrived is not kept (it may
        # have read the link just before it was removed).
        self._forgets = 0
        # Tells the other replicas which keys were removed (see forget_cached).
        self._on_removed = on_removed

    def cached(self) -> int:
        return len(self._cache)

    def forget_cached(self, keys: list[str]) -> None:
        self._forgets += 1
        for key in keys:
            self._cache.pop(key, None)

    async def follow(self) -> None:
        """Drop from memory every key that changes in the bucket; runs until cancelled.

        Only changes from now on are delivered (nothing held before is read), headers only."""
        kv = await self._bucket()
        # (KeyValue.watch cannot start at "new": it reads every key first, a million of them.)
        prefix: str = kv._pre

        async def changed(msg: Msg) -> None:
            # A put (a new link, a moved key's index), a delete, a purge: all drop the key.
            key = msg.subject[len(prefix) :]
            if key.startswith(_CACHED_PREFIXES):
                self.forget_cached([key])

        sub = await kv._js.subscribe(
            f"{prefix}>",
            stream=kv._stream,
            cb=changed,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
            headers_only=True,
            inactive_threshold=300.0,
        )
        try:
            await asyncio.Event().wait()
        finally:
            # Bounded: stopping must never hold up the service's shutdown.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(sub.unsubscribe(), 2.0)

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
        """Every link once (read from the incident side), as a stream: no list of them all.

        Read with a pull consumer, a batch at a time: a KV watch pushes every key at once, and
        past nats-py's pending limit (about 500k messages) it drops some."""
        kv = await self._bucket()
        sub = await kv._js.pull_subscribe(
            f"{kv._pre}{INCIDENT_KEYS}",
            stream=kv._stream,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=60.0,
                mem_storage=True,
            ),
        )
        try:
            while True:
                try:
                    batch = await sub.fetch(_EXPORT_BATCH, timeout=2.0)
                except (TimeoutError, nats.errors.TimeoutError):
                    return  # nothing (more) stored
                for msg in batch:
                    removed = (msg.headers or {}).get("KV-Operation") in ("DEL", "PURGE")
                    if msg.data and not removed:
                        yield _link_decoder.decode(msg.data)
                if not batch or batch[-1].metadata.num_pending == 0:
                    return
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

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
        now = self._clock()
        if cached is not None:
            link, read_at = cached
            if now - read_at < self._cache_max_age:
                self._cache.move_to_end(key)
                return link
            del self._cache[key]
        forgets = self._forgets
        kv = await self._bucket()
        try:
            entry = await kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        if entry.value is None:
            return None
        link = _link_decoder.decode(entry.value)
        if forgets == self._forgets and key.startswith(_CACHED_PREFIXES) and self._cache_size:
            self._cache[key] = (link, now)
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return link
