"""Asking the mapping service (the single writer of links, users and echo marks) over NATS
request/reply. Every helper raises :class:`MappingUnavailable` when mapping does not answer:
never read that as "no link", "no user" or "not an echo"."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import msgspec
from faststream.nats import NatsBroker
from nats.errors import NoRespondersError

from pdjira_common.bus import Retryable, nats_client
from pdjira_common.contracts import IncidentRef, Link, LinkQuery, LinkReply, encode
from pdjira_common.requests import (
    ECHO_CONSUME,
    ECHO_MARK,
    PAIR_LOOKUP,
    USER_LOOKUP,
    EchoConsume,
    EchoMark,
    EchoReply,
    PairLookup,
    PairReply,
    UserLookup,
    UserReply,
)
from pdjira_common.subjects import LINK_LOOKUP

__all__ = [
    "MappingAsks",
    "MappingUnavailable",
    "consume_echo",
    "link_of_incident",
    "link_of_issue",
    "lookup_link",
    "lookup_pair",
    "lookup_user",
    "mark_echo",
    "request",
]

T = TypeVar("T")
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


class MappingUnavailable(Exception):
    """The mapping service did not answer in time: retry later, never assume 'no link'."""


async def request(
    broker: NatsBroker, message: msgspec.Struct, subject: str, reply: type[T], *, timeout: float
) -> T:
    """One core NATS request to mapping, its reply decoded as ``reply``.

    Sent on the broker's nats-py connection: FastStream's request path adds parsing and
    middleware work that these small, frequent lookups do not need.
    """
    try:
        connection = nats_client(broker)
        response = await connection.request(subject, encode(message), timeout=timeout)
    except NoRespondersError as exc:
        raise MappingUnavailable("no mapping service is running") from exc
    except TimeoutError as exc:
        raise MappingUnavailable(f"mapping did not answer {subject} in {timeout}s") from exc
    body = response.data
    if not body:
        raise MappingUnavailable("mapping answered with an empty reply")
    decoder = _decoders.get(reply)
    if decoder is None:
        decoder = _decoders[reply] = msgspec.json.Decoder(reply)
    try:
        result: T = decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise MappingUnavailable(f"mapping answered {subject} with a bad reply: {exc}") from exc
    return result


async def lookup_link(broker: NatsBroker, query: LinkQuery, *, timeout: float = 2.0) -> Link | None:
    return (await request(broker, query, LINK_LOOKUP, LinkReply, timeout=timeout)).link


async def link_of_incident(broker: NatsBroker, incident: IncidentRef) -> Link | None:
    return await lookup_link(broker, LinkQuery(incident=incident))


async def link_of_issue(broker: NatsBroker, instance: str, issue_id: str) -> Link | None:
    return await lookup_link(broker, LinkQuery(instance=instance, issue_id=issue_id))


async def lookup_user(broker: NatsBroker, query: UserLookup, *, timeout: float = 10.0) -> UserReply:
    """The counterpart of a user (manual, e-mail, fallback); ``reply.error`` set: ask later.

    The timeout is long because an uncached e-mail lookup asks both writers in turn.
    """
    return await request(broker, query, USER_LOOKUP, UserReply, timeout=timeout)


async def mark_echo(broker: NatsBroker, mark: EchoMark, *, timeout: float = 2.0) -> None:
    """Record the mark before the vendor write; returns once mapping has stored it."""
    await request(broker, mark, ECHO_MARK, EchoReply, timeout=timeout)


async def consume_echo(broker: NatsBroker, query: EchoConsume, *, timeout: float = 2.0) -> bool:
    """True when the change is the echo of our own write (its mark is consumed)."""
    return (await request(broker, query, ECHO_CONSUME, EchoReply, timeout=timeout)).matched


async def lookup_pair(broker: NatsBroker, query: PairLookup, *, timeout: float = 2.0) -> PairReply:
    """The note <-> comment pair of ``query``'s note or comment (the other id None: not synced)."""
    return await request(broker, query, PAIR_LOOKUP, PairReply, timeout=timeout)


@contextmanager
def _retry_when_unavailable() -> Iterator[None]:
    try:
        yield
    except MappingUnavailable as exc:
        raise Retryable(f"mapping: {exc}") from exc


class MappingAsks:
    """What a writer asks mapping before it writes. No answer raises :class:`Retryable`: the
    command is tried again later, never treated as "nothing there" nor written unmarked."""

    def __init__(self, broker: NatsBroker, *, timeout: float = 2.0, user_timeout: float = 10.0):
        self._broker = broker
        self._timeout = timeout
        self._user_timeout = user_timeout

    async def mark(self, mark: EchoMark) -> None:
        with _retry_when_unavailable():
            await mark_echo(self._broker, mark, timeout=self._timeout)

    async def pair(self, lookup: PairLookup) -> PairReply:
        with _retry_when_unavailable():
            return await lookup_pair(self._broker, lookup, timeout=self._timeout)

    async def user(self, lookup: UserLookup) -> UserReply:
        """The counterpart of a user (manual, e-mail or fallback), if any."""
        with _retry_when_unavailable():
            return await lookup_user(self._broker, lookup, timeout=self._user_timeout)

    async def link_of_issue(self, instance: str, issue_id: str) -> Link | None:
        with _retry_when_unavailable():
            return await link_of_issue(self._broker, instance, issue_id)
