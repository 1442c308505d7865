"""Thin NATS handlers: record links, pairs and written state from outcomes; answer link, user,
echo and pair requests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pdjira_common import streams, subjects
from pdjira_common.config import RetrySettings
from pdjira_common.consumers import subscriber_max_deliver
from pdjira_common.contracts import (
    CommentAdded,
    IncidentUpdated,
    IssueLinked,
    IssueTransitioned,
    Link,
    LinkQuery,
    LinkReply,
    NoteAdded,
    decode_outcome,
    encode,
)
from pdjira_common.logging import get_logger
from pdjira_common.requests import (
    ECHO_CONSUME,
    ECHO_MARK,
    LINKS_CHANGED,
    PAIR_LOOKUP,
    USER_LOOKUP,
    EchoConsume,
    EchoMark,
    EchoReply,
    PairLookup,
    UserLookup,
)

from pdjira_mapping.links import Verdict
from pdjira_mapping.metrics import MappingMetrics
from pdjira_mapping.registry import EchoRegistry, PairRegistry, UserRegistry
from pdjira_mapping.store import KvLinkStore, Recorded

__all__ = [
    "CONSUMER",
    "QUEUE_GROUP",
    "Registries",
    "Responders",
    "answer",
    "answer_lookup",
    "record_outcome",
    "register",
]


@dataclass(frozen=True, slots=True)
class Registries:
    links: KvLinkStore
    users: UserRegistry
    echo: EchoRegistry
    pairs: PairRegistry


CONSUMER = "mapping"
QUEUE_GROUP = "mapping"  # replicas share the lookups
_query_decoder = msgspec.json.Decoder(LinkQuery)
_log = get_logger(__name__)


def link_from(outcome: IssueLinked) -> Link:
    return Link(
        incident=outcome.incident, issue=outcome.issue, created_at=datetime.now(UTC).isoformat()
    )


async def record_outcome(registries: Registries, data: bytes) -> Recorded | None:
    """Record what an outcome announces: a link, a note/comment pair, the state we wrote."""
    try:
        outcome = decode_outcome(data)
    except msgspec.ValidationError as exc:
        # Outcomes of kinds this version does not know (added later by other services) land
        # here too; retrying would not help either way.
        _log.warning("outcome_ignored", reason=f"cannot decode outcome: {exc}")
        return None
    if isinstance(outcome, (CommentAdded, NoteAdded)):
        if not await registries.pairs.record(outcome):
            _log.warning(
                "pair_exists",
                note_id=outcome.note_id,
                comment_id=outcome.comment_id,
                hint="the note or comment was already paired; the first pair is kept",
            )
        return None
    if isinstance(outcome, (IssueTransitioned, IncidentUpdated)):
        await registries.pairs.written(outcome)
        return None
    if not isinstance(outcome, IssueLinked):
        return None
    recorded = await registries.links.record(link_from(outcome))
    if recorded.verdict is Verdict.CONFLICT:
        existing = recorded.existing
        _log.error(
            "link_conflict",
            key=recorded.key,
            incident=f"{outcome.incident.account}/{outcome.incident.incident_id}",
            rejected_issue=f"{outcome.issue.instance}/{outcome.issue.key}",
            kept_issue=f"{existing.issue.instance}/{existing.issue.key}" if existing else None,
            kept_incident=(
                f"{existing.incident.account}/{existing.incident.incident_id}" if existing else None
            ),
            hint="two issues claim one incident (or the reverse); the first link is kept, "
            "the other issue is a duplicate to close by hand",
        )
    else:
        _log.info(
            "link_recorded",
            verdict=recorded.verdict.value,
            incident=f"{outcome.incident.account}/{outcome.incident.incident_id}",
            issue=f"{outcome.issue.instance}/{outcome.issue.key}",
        )
    return recorded


async def answer_lookup(store: KvLinkStore, data: bytes) -> tuple[bytes, str]:
    """The reply to a lookup and its result label; an empty reply means "could not answer"."""
    try:
        query = _query_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        _log.warning("lookup_refused", reason=f"not a LinkQuery: {exc}")
        return b"", "error"
    try:
        if query.incident is not None:
            link = await store.by_incident(query.incident)
        elif query.instance is not None and query.issue_id is not None:
            link = await store.by_issue(query.instance, query.issue_id)
        else:
            _log.warning("lookup_refused", reason="give either incident, or instance and issue_id")
            return b"", "error"
    except Exception as exc:  # the requester gets an empty reply and retries; never "no link"
        _log.exception("lookup_failed", reason=f"{type(exc).__name__}: {exc}")
        return b"", "error"
    return encode(LinkReply(link=link)), "found" if link else "missing"


_user_query = msgspec.json.Decoder(UserLookup)
_mark = msgspec.json.Decoder(EchoMark)
_consume = msgspec.json.Decoder(EchoConsume)
_pair_query = msgspec.json.Decoder(PairLookup)


async def answer(
    what: str,
    decoder: msgspec.json.Decoder[Any],
    data: bytes,
    work: Callable[[Any], Awaitable[Any]],
) -> tuple[bytes, str]:
    """Decode, work, encode; any failure is an empty reply (the client retries), never a guess."""
    try:
        query = decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        _log.warning("request_refused", request=what, reason=f"cannot decode: {exc}")
        return b"", "error"
    try:
        reply = await work(query)
    except Exception as exc:
        _log.exception("request_failed", request=what, reason=f"{type(exc).__name__}: {exc}")
        return b"", "error"
    return encode(reply), "ok"


async def _mark_echo(echo: EchoRegistry, mark: EchoMark) -> EchoReply:
    await echo.mark(mark)
    return EchoReply(matched=False)


async def _consume_echo(echo: EchoRegistry, query: EchoConsume) -> EchoReply:
    return EchoReply(matched=await echo.consume(query))


def register(
    broker: NatsBroker, registries: Registries, metrics: MappingMetrics, retry: RetrySettings
) -> None:
    """Attach the outcome consumer to ``broker`` (requests: :class:`Responders`)."""

    @broker.subscriber(
        subjects.ALL_OUTCOMES,
        stream=JStream(streams.OUTCOMES, declare=False),
        durable=CONSUMER,
        # One at a time: of two different links for one incident, the earlier in the stream
        # wins, which makes conflicts reproducible. Links are rare; throughput is not at stake.
        pull_sub=PullSub(batch_size=1),
        # max_deliver: an outcome that kills the service is dead-lettered by the retry
        # middleware past its poison threshold; the server stops below this backstop.
        config=ConsumerConfig(ack_wait=retry.ack_wait, max_deliver=subscriber_max_deliver(retry)),
    )
    async def on_outcome(message: NatsMessage) -> None:
        # The raw message, not a typed ``Outcome``: outcome kinds a newer writer adds are for
        # other consumers and are acked here; a typed body would dead-letter each of them.
        recorded = await record_outcome(registries, message.body)
        if recorded is not None:
            metrics.links_recorded.labels(recorded.verdict.value).inc()


class Responders:
    """The request/reply subjects, answered on the broker's nats-py connection directly.

    FastStream's subscriber path roughly doubles the latency of a lookup (parsing, middlewares,
    logging), and lookups sit on every event's path; each request runs in its own task, so a
    slow user lookup (waiting for a writer) never holds up link lookups or echo checks.
    """

    def __init__(self, registries: Registries, metrics: MappingMetrics) -> None:
        self._registries = registries
        self._metrics = metrics
        self._subscriptions: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def _routes(self) -> dict[str, Callable[[bytes], Awaitable[tuple[bytes, str]]]]:
        r = self._registries

        async def link(data: bytes) -> tuple[bytes, str]:
            reply, result = await answer_lookup(r.links, data)
            self._metrics.lookups.labels(result).inc()
            return reply, result

        return {
            subjects.LINK_LOOKUP: link,
            USER_LOOKUP: lambda d: answer("user", _user_query, d, r.users.lookup),
            ECHO_MARK: lambda d: answer("echo_mark", _mark, d, lambda m: _mark_echo(r.echo, m)),
            ECHO_CONSUME: lambda d: answer(
                "echo_consume", _consume, d, lambda q: _consume_echo(r.echo, q)
            ),
            PAIR_LOOKUP: lambda d: answer("pair", _pair_query, d, r.pairs.lookup),
        }

    async def start(self, connection: Client) -> None:
        for subject, work in self._routes().items():
            self._subscriptions.append(
                await connection.subscribe(subject, queue=QUEUE_GROUP, cb=self._callback(work))
            )
        # Every replica hears every change (no queue group): its cache must not go stale.
        self._subscriptions.append(
            await connection.subscribe(LINKS_CHANGED, cb=self._links_changed)
        )
        await connection.flush()

    async def stop(self) -> None:
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        self._subscriptions.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _callback(
        self, work: Callable[[bytes], Awaitable[tuple[bytes, str]]]
    ) -> Callable[[Msg], Awaitable[None]]:
        async def respond(msg: Msg) -> None:
            reply, _ = await work(msg.data)
            if msg.reply:
                await msg.respond(reply)

        async def on_message(msg: Msg) -> None:
            task = asyncio.create_task(respond(msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return on_message

    async def _links_changed(self, msg: Msg) -> None:
        self._registries.links.forget_cached(msg.data.decode().split())
