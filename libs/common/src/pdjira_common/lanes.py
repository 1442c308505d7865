"""Per-entity lanes: commands for different entities run concurrently, those for one entity
strictly one after the other, in stream order, including across retries.

Why lanes and not FastStream's subscriber with delayed naks: a delayed nak hands the message
back to the server, and the entity's next command (already delivered, or delivered meanwhile)
would overtake it: "resolve" could run before the "acknowledge" that failed once. Several
consumers partitioned by a subject-token hash would keep order but need a stream subject
transform and a fixed partition count per replica. So this one durable pull consumer fetches
batches and puts each message in the lane of its entity (the subject's tokens after
``commands.<system>.``); a lane runs its messages in order and acks each one after it is done.
A failing message stays at the head of its lane: it is retried *in place*, as the one retry
policy says (``retry.after_failure``), so nothing behind it can overtake it; other lanes keep
flowing. One periodic beat sends in-progress acks for *every* message held, queued or running:
a command queued behind a slow head must not reach its ack wait and come back a second time.
After the bound a message goes to the DLQ (``dead_letters``, with the reason) and is acked, and
the lane moves on. When the service stops, a
waiting message is handed back with a delayed nak of the remaining backoff.

One exception to strict order: when the head waits for a prerequisite (a transition before its
issue exists), a message that *creates* the prerequisite (``may_overtake``) may run first: its
cause happened first, only its delivery was late.

Poison messages (``consumers``): the durable has ``max_deliver`` :data:`LANE_MAX_DELIVER`, and
a message delivered more than :data:`LANE_POISON_DELIVERIES` times (the service died or hung
each time it held it) is dead-lettered when it reaches its lane's head, without running. A
handler that does not finish within :func:`handler_timeout` (an await that never returns would
otherwise hold its lane for ever: the beat keeps it in progress) is cancelled and its message
dead-lettered with the reason. A hang that blocks the event loop itself stops the beat too: the
liveness check restarts the service, and the delivery count ends it.

Across replicas: a dispatcher reads one durable, and one replica at a time reads a partition's
durable (``partition_lanes``). Stopping hands every message back with a plain nak, including
one waiting to retry: the next holder gets it before anything newer of its entity.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

from pdjira_common import streams
from pdjira_common.config import RetrySettings
from pdjira_common.consumers import (
    LANE_MAX_DELIVER,
    LANE_POISON_DELIVERIES,
    poison_reason,
    update_consumer,
)
from pdjira_common.dead_letters import send_to_dlq
from pdjira_common.delivery_metrics import DeliveryMetrics
from pdjira_common.headers import CORRELATION_HEADER
from pdjira_common.logging import bind_correlation_id, get_logger
from pdjira_common.partitions import entity_tokens
from pdjira_common.retry import (
    DeadLetterNow,
    Unprocessable,
    WaitForPrerequisite,
    after_failure,
    is_expected,
    reason_of,
)
from pdjira_common.secrets import redact

__all__ = ["LaneDispatcher", "entity_of", "handler_timeout"]

Handler = Callable[[Msg], Awaitable[None]]
_log = get_logger(__name__)
# How long one pull request waits for the first message: stop() does not wait it out (it
# cancels the request), so this only bounds how long a lost request (a reconnect) goes unnoticed.
IDLE_FETCH = 1.0
_DONE_REMEMBERED = 4096  # sequences of finished commands kept to drop their late redeliveries


async def _ack_quietly(msg: Msg) -> None:
    with contextlib.suppress(Exception):
        await msg.ack()


def handler_timeout(retry: RetrySettings) -> float:
    """How long one run of a handler may take: generous (a handler's own calls time out after
    ``http_timeout``; its retries and waits happen between runs, not inside one)."""
    return max(300.0, 10 * retry.ack_wait)


def entity_of(subject: str) -> str:
    """``commands.jira.5.dc1.Q123`` (or, unpartitioned, ``commands.jira.dc1.Q123``) ->
    ``dc1.Q123``: the lane key."""
    return ".".join(entity_tokens(subject)) or subject


def _insert_in_order(lane: deque[Msg], msg: Msg, *, running: bool) -> None:
    """Queue ``msg`` by stream sequence: a redelivery that came after a newer message of its
    entity still runs before it (unless that one is already running: the lane's head)."""
    sequence = msg.metadata.sequence.stream
    first_movable = 1 if running else 0
    position = len(lane)
    while position > first_movable and lane[position - 1].metadata.sequence.stream > sequence:
        position -= 1
    lane.insert(position, msg)


class LaneDispatcher:
    """Fetch from one durable consumer; run per-entity lanes; retry in place; dead-letter."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        subject: str,
        durable: str,
        handler: Handler,
        retry: RetrySettings,
        concurrency: int = 32,
        may_overtake: Callable[[Msg], bool] = lambda _msg: False,
        stream: str = streams.COMMANDS,
        rng: random.Random | None = None,
        running: asyncio.Semaphore | None = None,
        owner: str | None = None,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self._js = js
        self._metrics = metrics  # retries and dead letters counted by consumer (owner)
        self._subject = subject
        self._durable = durable
        # The consumer dead letters name: the service's (``rules``), not a partition's.
        self._owner = owner or durable
        self._handler = handler
        self._retry = retry
        self._may_overtake = may_overtake
        self._stream = stream
        self._rng = rng or random.Random()
        # Handlers running at once: shared by the dispatchers of one replica's partitions.
        self._running = running or asyncio.Semaphore(concurrency)
        # Messages held (queued or running) at most: bounds memory and the ack timers kept.
        self._capacity = concurrency * 4
        self._room = asyncio.Semaphore(self._capacity)
        self._max_batch = max(1, min(concurrency * 2, 256))
        self._lanes: dict[str, deque[Msg]] = {}
        # Stream sequences of the messages held (queued or running) and of the last ones done:
        # a redelivery of either (an ack timer that ran out under load, an ack the server had
        # not processed yet) must not make the lane run a command twice.
        self._held: dict[int, Msg] = {}
        self._done: OrderedDict[int, None] = OrderedDict()
        self._acking: set[asyncio.Task[None]] = set()
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._fetcher: asyncio.Task[None] | None = None
        self._beat: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._sub: JetStreamContext.PullSubscription | None = None
        self._pulling = False
        self.handed_back = 0  # messages nacked when stopping (they stay "ack pending")
        self._recover = 0

    async def start(self, *, recover: int = 0) -> None:
        """Start fetching. ``recover``: that many messages are due again (redeliveries of a
        replica that died holding them): they are collected first and run in stream order,
        since the server hands them out in the order their ack waits ran out."""
        self._recover = min(recover, self._capacity)
        # The lanes hold up to 4 x concurrency messages: max_ack_pending is far above that (a
        # durable left at 1, the global head-of-line of old, is raised to it).
        config = ConsumerConfig(
            ack_wait=self._retry.ack_wait, max_ack_pending=10_000, max_deliver=LANE_MAX_DELIVER
        )
        self._sub = await self._js.pull_subscribe(
            self._subject, durable=self._durable, stream=self._stream, config=config
        )
        # nats-py only creates a durable: an existing one keeps its old settings unless told.
        await update_consumer(
            self._js,
            self._stream,
            self._durable,
            ack_wait=config.ack_wait,
            max_ack_pending=config.max_ack_pending,
            max_deliver=config.max_deliver,
        )
        self._fetcher = asyncio.create_task(self._fetch_loop(), name=f"lanes:{self._durable}")
        self._beat = asyncio.create_task(self._keep_alive(), name=f"beat:{self._durable}")

    async def stop(self, timeout: float = 10.0, *, settle: bool = False) -> None:
        """Stop fetching (at once: a waiting pull request is not waited out, unless ``settle``);
        let running commands finish; hand the rest back to the server.

        ``settle`` (a partition handed to another replica): a pull request still open when we
        stop could be answered after we left, and that message would come back only after its
        ack wait, behind newer ones of its entity. So the open request is waited out (at most
        :data:`IDLE_FETCH`) and what it brings is handed back with the rest."""
        self._stopping.set()
        if self._fetcher is not None:
            if settle and self._pulling:
                # The fetch ends by itself within IDLE_FETCH; the bound is for a stuck loop.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._fetcher), IDLE_FETCH + 10.0)
            self._fetcher.cancel()
            await asyncio.gather(self._fetcher, return_exceptions=True)
        workers = list(self._workers.values())
        if workers:
            _done, pending = await asyncio.wait(workers, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
        for lane in self._lanes.values():
            for msg in lane:
                with contextlib.suppress(Exception):
                    await msg.nak()
                    self.handed_back += 1
        self._lanes.clear()
        self._held.clear()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    # ------------------------------------------------------------------ fetching

    async def _fetch_loop(self) -> None:
        # A pull request for several messages stays open until all came or it expires, so a
        # lone command would wait out the expiry: ask for one unless the last message said
        # more are waiting (``num_pending``), then for those (they come back at once).
        waiting = await self._collect_redeliveries() if self._recover else 0
        while not self._stopping.is_set():
            room = await self._take_room(max(1, min(waiting, self._max_batch)))
            batch = await self._pull(room)
            for _ in range(room - len(batch)):
                self._room.release()
            for msg in batch:
                self._enqueue(msg)
            waiting = int(batch[-1].metadata.num_pending or 0) if batch else 0

    async def _collect_redeliveries(self) -> int:
        """Fetch the messages due again (the server serves them before newer ones), then
        queue them sorted by stream sequence; return how many more the server said wait."""
        taken: list[Msg] = []
        while len(taken) < self._recover and not self._stopping.is_set():
            room = await self._take_room(min(self._recover - len(taken), self._max_batch))
            batch = await self._pull(room)
            for _ in range(room - len(batch)):
                self._room.release()
            if not batch:
                break
            taken.extend(batch)
        for msg in sorted(taken, key=lambda m: m.metadata.sequence.stream):
            self._enqueue(msg)
        return int(taken[-1].metadata.num_pending or 0) if taken else 0

    async def _take_room(self, wanted: int) -> int:
        """Room for at least one message (waits for it), for up to ``wanted`` if free."""
        await self._room.acquire()
        room = 1
        while room < wanted and not self._room.locked():
            await self._room.acquire()
            room += 1
        return room

    async def _pull(self, batch: int) -> list[Msg]:
        assert self._sub is not None
        self._pulling = True
        try:
            return await self._sub.fetch(batch, timeout=IDLE_FETCH)
        except (TimeoutError, nats.errors.TimeoutError):
            return []
        except Exception as exc:  # connection trouble: keep trying, never die silently
            _log.warning("fetch_failed", reason=redact(f"{type(exc).__name__}: {exc}"))
            await asyncio.sleep(0.5)
            return []
        finally:
            self._pulling = False

    def _enqueue(self, msg: Msg) -> None:
        sequence = msg.metadata.sequence.stream
        if sequence in self._held or sequence in self._done:
            _log.warning("redelivery_dropped", subject=msg.subject, sequence=sequence)
            if sequence in self._done:  # it was done: settle this delivery too
                task = asyncio.create_task(_ack_quietly(msg))
                self._acking.add(task)
                task.add_done_callback(self._acking.discard)
            self._room.release()
            return
        self._held[sequence] = msg
        key = entity_of(msg.subject)
        _insert_in_order(self._lanes.setdefault(key, deque()), msg, running=key in self._workers)
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"lane:{key}")

    def _release(self, msg: Msg, *, finished: bool) -> None:
        """``msg`` left its lane (``finished``: acked or dead-lettered; else handed back)."""
        sequence = msg.metadata.sequence.stream
        self._held.pop(sequence, None)
        if finished:
            self._done[sequence] = None
            if len(self._done) > _DONE_REMEMBERED:
                self._done.popitem(last=False)
        self._room.release()

    # ------------------------------------------------------------------ one lane

    async def _work(self, key: str) -> None:
        lane = self._lanes[key]
        try:
            while lane and not self._stopping.is_set():
                # Done, dead-lettered, or handed back with a delayed nak when stopping.
                finished = await self._run(lane[0], lane)
                self._release(lane.popleft(), finished=finished)
        finally:
            self._workers.pop(key, None)
            if not lane:
                self._lanes.pop(key, None)

    async def _run(self, msg: Msg, lane: deque[Msg]) -> bool:
        """Apply ``msg`` until it is acked or dead-lettered; False if stopped while waiting."""
        attempt = max(1, int(getattr(msg.metadata, "num_delivered", 1) or 1))
        if attempt > LANE_POISON_DELIVERIES:
            await send_to_dlq(
                self._js,
                msg,
                consumer=self._owner,
                reason=poison_reason(attempt),
                attempts=attempt,
            )
            if self._metrics is not None:
                self._metrics.dead_lettered(self._owner)
            await msg.ack()
            return True
        waits = 0
        timeout = handler_timeout(self._retry)
        while True:
            correlation = (msg.headers or {}).get(CORRELATION_HEADER)
            if correlation:
                bind_correlation_id(correlation)
            try:
                async with self._running:
                    bound = asyncio.timeout(timeout)
                    try:
                        async with bound:
                            await self._handler(msg)
                    except TimeoutError as exc:
                        if not bound.expired():
                            raise  # the handler's own timeout: an ordinary failure
                        raise Unprocessable(
                            f"the handler did not finish within {timeout:g} s: it hung on it"
                        ) from exc
                await msg.ack()
                return True
            except Exception as exc:
                if not is_expected(exc):
                    _log.exception("handler_failed", reason=reason_of(exc))
                failure = exc
            waits += isinstance(failure, WaitForPrerequisite)
            verdict = after_failure(
                failure, attempt=attempt, waits=waits, settings=self._retry, rng=self._rng
            )
            if isinstance(verdict, DeadLetterNow):
                await send_to_dlq(
                    self._js,
                    msg,
                    consumer=self._owner,
                    reason=verdict.reason,
                    attempts=attempt,
                )
                if self._metrics is not None:
                    self._metrics.dead_lettered(self._owner)
                await msg.ack()
                return True
            if verdict.waiting and await self._run_overtaker(lane):
                continue
            attempt += not verdict.waiting
            if self._metrics is not None:
                self._metrics.retried(self._owner, waiting=verdict.waiting)
            _log.warning(
                "retry_scheduled", reason=verdict.reason, attempt=attempt, delay=verdict.delay
            )
            if await self._wait_or_stop(verdict.delay):
                # Due at once, not after the backoff: whoever takes the partition next must get
                # it before the newer messages of its entity.
                with contextlib.suppress(Exception):
                    await msg.nak()
                return False

    async def _run_overtaker(self, lane: deque[Msg]) -> bool:
        for i, msg in enumerate(list(lane)[1:], start=1):
            if self._may_overtake(msg):
                del lane[i]
                _log.info("prerequisite_first", subject=msg.subject)
                if await self._run(msg, lane):
                    self._release(msg, finished=True)
                else:
                    lane.insert(i, msg)
                return True
        return False

    async def _wait_or_stop(self, delay: float) -> bool:
        """Sleep ``delay``; True if the service stops meanwhile."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=delay)
        except TimeoutError:
            return False
        return True

    async def _keep_alive(self) -> None:
        """In-progress acks for every message held (queued, running or waiting to retry), a
        third of the ack wait apart: none is redelivered while this replica has it."""
        while True:
            await asyncio.sleep(max(0.2, self._retry.ack_wait / 3))
            for msg in list(self._held.values()):
                with contextlib.suppress(Exception):
                    await msg.in_progress()
