"""The link registry on a JetStream KV bucket: create-only writes, so the first link wins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pdjira_common.contracts import IncidentRef, Link, encode

from pdjira_mapping.links import Verdict, incident_key, issue_key, judge

__all__ = ["KvLinkStore", "Recorded"]

_link_decoder = msgspec.json.Decoder(Link)
# A key can vanish between a failed create and the read (an operator deleting it): try again,
# but a bounded number of times.
_CREATE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Recorded:
    """Result of recording a link; on CONFLICT, ``key`` and ``existing`` say what won."""

    verdict: Verdict
    key: str | None = None
    existing: Link | None = None


class KvLinkStore:
    """Links in the KV bucket, under one key per side (see :mod:`pdjira_mapping.links`)."""

    def __init__(self, open_bucket: Callable[[], Awaitable[KeyValue]]) -> None:
        # Opened lazily: subscribers may receive a message before any startup hook runs.
        self._open_bucket = open_bucket
        self._kv: KeyValue | None = None

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
        return first

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
        kv = await self._bucket()
        try:
            entry = await kv.get(key)
        except KeyNotFoundError:
            return None
        if entry.value is None:
            return None
        return _link_decoder.decode(entry.value)
