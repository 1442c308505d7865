"""Requests to the mapping service (echo marks, note/comment pairs, users): no answer means
"try the command again later", never "nothing there" and never "write unmarked"."""

from __future__ import annotations

from typing import TypeVar

import msgspec
from faststream.nats import NatsBroker
from nats.errors import NoRespondersError
from pdjira_common.bus import Retryable
from pdjira_common.contracts import Link, encode
from pdjira_common.mapping_client import MappingUnavailable, link_of_issue
from pdjira_common.requests import (
    ECHO_MARK,
    PAIR_LOOKUP,
    USER_LOOKUP,
    EchoMark,
    PairLookup,
    PairReply,
    UserLookup,
    UserReply,
)

__all__ = ["MappingAsks", "ask"]

T = TypeVar("T")


async def ask(
    broker: NatsBroker, subject: str, message: msgspec.Struct, reply: type[T], timeout: float
) -> T:
    """One request/reply; Retryable when nobody answers in time or the answer is empty."""
    try:
        response = await broker.request(encode(message), subject, timeout=timeout)
    except (TimeoutError, NoRespondersError) as exc:
        raise Retryable(f"mapping did not answer {subject}: {type(exc).__name__}") from exc
    if not response.body:
        raise Retryable(f"mapping answered {subject} with an empty reply")
    try:
        return msgspec.json.decode(response.body, type=reply)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Retryable(f"mapping answered {subject} with an unexpected reply: {exc}") from exc


class MappingAsks:
    """The three questions the pd-writer asks mapping, over ``broker``."""

    def __init__(self, broker: NatsBroker, *, timeout: float = 2.0) -> None:
        self._broker = broker
        self._timeout = timeout

    async def mark(self, mark: EchoMark) -> None:
        # Any JSON answer means "recorded"; no answer means the write must wait.
        await ask(self._broker, ECHO_MARK, mark, msgspec.Raw, self._timeout)

    async def pair(self, lookup: PairLookup) -> PairReply:
        return await ask(self._broker, PAIR_LOOKUP, lookup, PairReply, self._timeout)

    async def user(self, lookup: UserLookup) -> UserReply:
        """The PagerDuty counterpart of a Jira user (manual, e-mail or fallback), if any."""
        return await ask(self._broker, USER_LOOKUP, lookup, UserReply, self._timeout)

    async def link_of_issue(self, instance: str, issue_id: str) -> Link | None:
        """The incident linked to the issue, if any (no answer: Retryable)."""
        try:
            return await link_of_issue(self._broker, instance, issue_id)
        except MappingUnavailable as exc:
            raise Retryable(f"link lookup failed: {exc}") from exc

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"MappingAsks(timeout={self._timeout})"
