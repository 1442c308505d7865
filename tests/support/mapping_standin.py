"""A tiny stand-in for the mapping service's request/reply side (echo marks, users, pairs):
answers on real core NATS subjects, records what it was asked, and can be told to be silent
(``unanswered`` counts the requests it holds meanwhile; ``resume()`` answers them late)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pdjira_common.contracts import encode
from pdjira_common.requests import (
    ECHO_MARK,
    PAIR_LOOKUP,
    USER_LOOKUP,
    EchoMark,
    EchoReply,
    PairLookup,
    PairReply,
    PdUser,
    UserLookup,
    UserReply,
)


class MappingStandIn:
    """``await MappingStandIn().start(nc)``; ``await standin.stop()``."""

    def __init__(self) -> None:
        self.marks: list[EchoMark] = []
        self.user_lookups: list[UserLookup] = []
        self.pd_users: dict[str, PdUser] = {}  # jira user key -> PagerDuty user
        self.fallback: PdUser | None = None
        self.pairs: dict[str, str] = {}  # note id <-> comment id (both directions)
        self.silent = False
        self.unanswered = 0
        self._held: list[tuple[Callable[[Msg], Awaitable[None]], Msg]] = []
        self._subs: list[Subscription] = []

    async def start(self, nc: Client) -> MappingStandIn:
        self._subs = [
            await nc.subscribe(ECHO_MARK, cb=self._on_mark),
            await nc.subscribe(USER_LOOKUP, cb=self._on_user),
            await nc.subscribe(PAIR_LOOKUP, cb=self._on_pair),
        ]
        return self

    async def stop(self) -> None:
        for sub in self._subs:
            await sub.unsubscribe()

    async def resume(self) -> None:
        """Answer again, first what was asked while silent (an asker that gave up meanwhile
        ignores the late answer)."""
        self.silent = False
        held, self._held = self._held, []
        for answer, msg in held:
            await answer(msg)

    def _held_back(self, answer: Callable[[Msg], Awaitable[None]], msg: Msg) -> bool:
        if self.silent:
            self.unanswered += 1
            self._held.append((answer, msg))
        return self.silent

    async def _on_mark(self, msg: Msg) -> None:
        if self._held_back(self._on_mark, msg):
            return
        self.marks.append(msgspec.json.decode(msg.data, type=EchoMark))
        await msg.respond(encode(EchoReply(matched=False)))

    async def _on_user(self, msg: Msg) -> None:
        if self._held_back(self._on_user, msg):
            return
        lookup = msgspec.json.decode(msg.data, type=UserLookup)
        self.user_lookups.append(lookup)
        user = self.pd_users.get(lookup.jira_user_key or "")
        if user is not None:
            reply = UserReply(pd_user=user, source="manual")
        elif self.fallback is not None:
            reply = UserReply(pd_user=self.fallback, source="fallback")
        else:
            reply = UserReply(reason="no link, no e-mail match, no fallback")
        await msg.respond(encode(reply))

    async def _on_pair(self, msg: Msg) -> None:
        if self._held_back(self._on_pair, msg):
            return
        lookup = msgspec.json.decode(msg.data, type=PairLookup)
        if lookup.note_id is not None:
            reply = PairReply(note_id=lookup.note_id, comment_id=self.pairs.get(lookup.note_id))
        else:
            comment = lookup.comment_id or ""
            reply = PairReply(note_id=self.pairs.get(comment), comment_id=comment)
        await msg.respond(encode(reply))
