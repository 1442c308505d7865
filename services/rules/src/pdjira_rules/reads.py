"""Reads the writers answer for the rules service (core NATS request/reply), and the JQL
fallback: "does issue X match this JQL?" asked of Jira when the local evaluator cannot tell.

A writer that does not answer is an error that says which writer and subject, never an empty
answer: a catalog read that fails refuses the rule, a fallback search that fails retries the
event — unless Jira refused the query itself (400, bad JQL): that is :class:`JqlRejected`, and
the rule with that JQL is refused, never retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import tzinfo
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from nats.aio.client import Client
from nats.errors import NoRespondersError
from pdjira_common.bus import Retryable
from pdjira_common.contracts import encode
from pdjira_common.jira_zone import TIME_ZONE_READ, JiraTimeZoneRead, JiraTimeZoneReply
from pdjira_common.requests import JiraSearchRead, JiraSearchReply, jira_read_subject

from pdjira_rules.jql import JqlSyntaxError, jira_fallback_query

__all__ = [
    "JiraZones",
    "JqlFallback",
    "JqlRejected",
    "NatsReads",
    "ReadFailed",
    "WriterUnavailable",
]

T = TypeVar("T")
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}
_CACHE_MAX: Final = 10_000


class ReadFailed(Exception):
    """A read could not be answered; the message says which writer, what and why."""


class WriterUnavailable(ReadFailed):
    """The writer did not answer at all (not running, or too slow)."""


class JqlRejected(ReadFailed):
    """Jira refused a search's JQL (400): asking again will not help. ``jql``: the rule's JQL,
    ``reason``: Jira's words."""

    def __init__(self, reason: str, *, jql: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.jql = jql


def writer_name(subject: str) -> str:
    """``reads.jira.dc1.statuses`` -> ``jira-writer for instance dc1``."""
    parts = subject.split(".")
    if len(parts) >= 3 and parts[1] == "jira":
        return f"jira-writer for instance {parts[2]}"
    if len(parts) >= 3 and parts[1] == "pd":
        return f"pd-writer for account {parts[2]}"
    return f"the service answering {subject}"


class NatsReads:
    """One request to a writer, its reply decoded; errors as :class:`ReadFailed`."""

    def __init__(self, connection: Callable[[], Client], *, timeout: float) -> None:
        self._connection = connection
        self.timeout = timeout

    async def ask(self, subject: str, message: msgspec.Struct, reply: type[T]) -> T:
        who = writer_name(subject)
        try:
            response = await self._connection().request(
                subject, encode(message), timeout=self.timeout
            )
        except (NoRespondersError, TimeoutError):
            # No responders comes at once, a slow writer after the timeout: the same to us.
            raise WriterUnavailable(
                f"{who} did not answer {subject} within {self.timeout:g} s; is it running?"
            ) from None
        decoder = _decoders.get(reply)
        if decoder is None:
            decoder = _decoders[reply] = msgspec.json.Decoder(reply)
        try:
            result: T = decoder.decode(response.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ReadFailed(f"{who} answered {subject} with a bad reply: {exc}") from None
        error = getattr(result, "error", None)
        if error and getattr(result, "rejected", False) is True:
            raise JqlRejected(str(error))
        if error:
            raise ReadFailed(f"{who} could not answer {subject}: {error}")
        return result


class JqlFallback:
    """``ask(instance, issue_key, jql, as_of=...)``: does the issue match? Jira's answer is
    reused for ``ttl`` seconds per (instance, key, jql, as_of) — ``as_of`` is the time of the
    event asking, so a redelivery or a second rule reuses the answer but a later change of the
    issue asks again. No answer raises Retryable: retried, not guessed; a query Jira refuses
    (400) raises :class:`JqlRejected`: the rule is refused, the event not retried."""

    def __init__(
        self,
        reads: NatsReads,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reads = reads
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[str, str, str, int], tuple[float, bool]] = {}
        self.asked = 0  # searches sent to Jira (cache misses)

    async def ask(self, instance: str, issue_key: str, jql: str, *, as_of: int = 0) -> bool:
        key = (instance, issue_key, jql, as_of)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            query = jira_fallback_query(issue_key, jql)
        except JqlSyntaxError as exc:
            raise Retryable(f"rule JQL does not parse ({exc}); fix the rule") from exc
        self.asked += 1
        try:
            reply = await self._reads.ask(
                jira_read_subject(instance, "search"),
                JiraSearchRead(instance=instance, jql=query, max_results=1),
                JiraSearchReply,
            )
        except JqlRejected as exc:
            if issue_key.casefold() in exc.reason.casefold():
                # "An issue with key 'OPS-9' does not exist for field 'key'.": the issue is
                # gone (deleted since the event), not the rule's JQL: it matches nothing.
                return False
            raise JqlRejected(exc.reason, jql=jql) from exc
        except ReadFailed as exc:
            raise Retryable(f"JQL fallback search failed: {exc}") from exc
        matched = reply.total > 0 or any(i.key == issue_key for i in reply.issues)
        if self._ttl > 0:
            if len(self._cache) >= _CACHE_MAX:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                if len(self._cache) >= _CACHE_MAX:
                    self._cache.clear()
            self._cache[key] = (now + self._ttl, matched)
        return matched


class JiraZones:
    """``zone(instance)``: the time zone Jira reads absolute JQL dates in for pdjira (the
    integration user's, ``GET /myself`` ``timeZone``), None when not known (no answer, an
    unknown zone name): date clauses are then Jira's to decide. Answers are kept ``ttl``
    seconds, a failure ``retry_after`` seconds (not asked again for every event)."""

    def __init__(
        self,
        reads: NatsReads,
        *,
        ttl: float = 600.0,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reads = reads
        self._ttl = ttl
        self._retry_after = retry_after
        self._clock = clock
        self._cache: dict[str, tuple[float, tzinfo | None]] = {}

    async def zone(self, instance: str) -> tzinfo | None:
        now = self._clock()
        cached = self._cache.get(instance)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            reply = await self._reads.ask(
                jira_read_subject(instance, TIME_ZONE_READ),
                JiraTimeZoneRead(instance=instance),
                JiraTimeZoneReply,
            )
        except ReadFailed:
            self._cache[instance] = (now + self._retry_after, None)
            return None
        zone = zone_of(reply.time_zone)
        self._cache[instance] = (now + (self._ttl if zone is not None else self._retry_after), zone)
        return zone


def zone_of(name: str | None) -> tzinfo | None:
    """The zone Jira names (IANA, e.g. "Europe/Berlin"), None if absent or unknown here."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
