"""Per-entity lanes: commands for different entities run concurrently, those for one entity
strictly one after the other, in stream order, including across retries.

Why lanes and not FastStream's subscriber with delayed naks: a delayed nak hands the message
back to the server, and the entity's next command (already delivered, or delivered meanwhile)
would overtake it: "resolve" could run before the "acknowledge" that failed once. Several
consumers partitioned by a subject-token hash would keep order but need a stream subject
transform and a fixed partition count per replica. So this one durable pull consumer fetches
batches and puts each message in the lane of its entity (the subject's tokens after
``commands.<system>.``); a lane runs its messages in order and acks each one after it is done.
A failing message stays at the head of its lane: it is retried *in place* after the same
exponential, jittered backoff (``bus.retry_delay``), while in-progress acks keep its ack timer
alive, so nothing behind it can overtake it; other lanes keep flowing. After the bound it goes
to the DLQ (with the reason) and is acked, and the lane moves on. When the service stops, a
waiting message is handed back with a delayed nak of the remaining backoff.

One exception to strict order: when the head waits for a prerequisite (a transition before its
issue exists), a message that *creates* the prerequisite (``may_overtake``) may run first: its
cause happened first, only its delivery was late.

Limit: order is per replica. Two replicas on the same durable may each take one command of an
entity (rare: lanes drain in milliseconds); partitioned consumers would close that gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig

from pdjira_common import streams, subjects
from pdjira_common.bus import (
    CORRELATION_HEADER,
    MSG_ID_HEADER,
    Retryable,
    Unprocessable,
    WaitForPrerequisite,
    retry_delay,
)
from pdjira_common.config import RetrySettings
from pdjira_common.contracts import DeadLetter, encode
from pdjira_common.logging import bind_correlation_id, get_logger
from pdjira_common.secrets import redact

__all__ = ["LaneDispatcher", "entity_of"]

Handler = Callable[[Msg], Awaitable[None]]
_log = get_logger(__name__)
PREREQUISITE_WAIT = 1.0


def entity_of(subject: str) -> str:
    """``commands.jira.dc1.Q123`` -> ``dc1.Q123``: the lane key."""
    return ".".join(subject.split(".")[2:]) or subject


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
    ) -> None:
        self._js = js
        self._subject = subject
        self._durable = durable
        self._handler = handler
        self._retry = retry
        self._may_overtake = may_overtake
        self._stream = stream
        self._rng = rng or random.Random()
        self._running = asyncio.Semaphore(concurrency)
        # Messages held (queued or running) at most: bounds memory and the ack timers kept.
        self._room = asyncio.Semaphore(concurrency * 4)
        self._max_batch = max(1, min(concurrency * 2, 256))
        self._lanes: dict[str, deque[Msg]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._fetcher: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._sub: JetStreamContext.PullSubscription | None = None

    async def start(self) -> None:
        self._sub = await self._js.pull_subscribe(
            self._subject,
            durable=self._durable,
            stream=self._stream,
            config=ConsumerConfig(ack_wait=self._retry.ack_wait, max_ack_pending=10_000),
        )
        self._fetcher = asyncio.create_task(self._fetch_loop(), name=f"lanes:{self._durable}")

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop fetching; let running commands finish; hand the rest back to the server."""
        self._stopping.set()
        if self._fetcher is not None:
            await asyncio.gather(self._fetcher, return_exceptions=True)
        workers = list(self._workers.values())
        if workers:
            _done, pending = await asyncio.wait(workers, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for lane in self._lanes.values():
            for msg in lane:
                with contextlib.suppress(Exception):
                    await msg.nak()
        self._lanes.clear()
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    # ------------------------------------------------------------------ fetching

    async def _fetch_loop(self) -> None:
        assert self._sub is not None
        while not self._stopping.is_set():
            await self._room.acquire()
            room = 1
            while room < self._max_batch and not self._room.locked():
                await self._room.acquire()
                room += 1
            try:
                batch = await self._sub.fetch(room, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                batch = []
            except Exception as exc:  # connection trouble: keep trying, never die silently
                if not self._stopping.is_set():
                    _log.warning("fetch_failed", reason=redact(f"{type(exc).__name__}: {exc}"))
                    await asyncio.sleep(0.5)
                batch = []
            for _ in range(room - len(batch)):
                self._room.release()
            for msg in batch:
                self._enqueue(msg)

    def _enqueue(self, msg: Msg) -> None:
        key = entity_of(msg.subject)
        self._lanes.setdefault(key, deque()).append(msg)
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"lane:{key}")

    # ------------------------------------------------------------------ one lane

    async def _work(self, key: str) -> None:
        lane = self._lanes[key]
        try:
            while lane and not self._stopping.is_set():
                # Done, dead-lettered, or handed back with a delayed nak when stopping.
                await self._run(lane[0], lane)
                lane.popleft()
                self._room.release()
        finally:
            self._workers.pop(key, None)
            if not lane:
                self._lanes.pop(key, None)

    async def _run(self, msg: Msg, lane: deque[Msg]) -> bool:
        """Apply ``msg`` until it is acked or dead-lettered; False if stopped while waiting."""
        attempt = max(1, int(getattr(msg.metadata, "num_delivered", 1) or 1))
        waits = 0
        delay: float | None
        async with self._keep_alive(msg):
            while True:
                correlation = (msg.headers or {}).get(CORRELATION_HEADER)
                if correlation:
                    bind_correlation_id(correlation)
                try:
                    async with self._running:
                        await self._handler(msg)
                    await msg.ack()
                    return True
                except Unprocessable as exc:
                    await self._dead_letter(msg, exc.reason, attempt)
                    return True
                except WaitForPrerequisite as exc:
                    waits += 1
                    if waits >= self._retry.prerequisite_max_attempts:
                        await self._dead_letter(msg, exc.reason, attempt)
                        return True
                    if await self._run_overtaker(lane):
                        continue
                    reason, delay = exc.reason, PREREQUISITE_WAIT
                except Retryable as exc:
                    reason = exc.reason
                    attempt, delay = self._next(attempt, exc.delay)
                except Exception as exc:
                    reason = redact(f"{type(exc).__name__}: {exc}")
                    _log.exception("handler_failed", reason=reason)
                    attempt, delay = self._next(attempt, None)
                if delay is None:
                    await self._dead_letter(msg, reason, attempt)
                    return True
                _log.warning("retry_scheduled", reason=reason, attempt=attempt, delay=delay)
                if await self._wait_or_stop(delay):
                    with contextlib.suppress(Exception):
                        await msg.nak(delay=delay)  # the restart (or a peer) takes it up
                    return False

    def _next(self, attempt: int, delay: float | None) -> tuple[int, float | None]:
        """The attempt number after a failure, and the wait before it (None: dead-letter)."""
        if attempt >= self._retry.max_attempts:
            return attempt, None
        wait = delay if delay is not None else retry_delay(attempt, self._retry, self._rng)
        return attempt + 1, round(wait, 3)

    async def _run_overtaker(self, lane: deque[Msg]) -> bool:
        for i, msg in enumerate(list(lane)[1:], start=1):
            if self._may_overtake(msg):
                del lane[i]
                _log.info("prerequisite_first", subject=msg.subject)
                if await self._run(msg, lane):
                    self._room.release()
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

    @contextlib.asynccontextmanager
    async def _keep_alive(self, msg: Msg) -> AsyncIterator[None]:
        """In-progress acks while the message is worked on or waits: no redelivery meanwhile."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(max(0.2, self._retry.ack_wait / 3))
                with contextlib.suppress(Exception):
                    await msg.in_progress()

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _dead_letter(self, msg: Msg, reason: str, attempts: int) -> None:
        metadata = msg.metadata
        stream = str(metadata.stream or "unknown")
        headers = dict(msg.headers or {})
        letter = DeadLetter(
            stream=stream,
            consumer=self._durable,
            subject=msg.subject,
            reason=reason,
            attempts=attempts,
            correlation_id=headers.get(CORRELATION_HEADER),
            failed_at=datetime.now(UTC).isoformat(),
            data=bytes(msg.data),
            headers=headers,
        )
        await self._js.publish(
            subjects.dlq(stream, self._durable),
            encode(letter),
            stream=streams.DLQ,
            headers={
                MSG_ID_HEADER: f"dlq:{stream}:{self._durable}:{metadata.sequence.stream}",
                CORRELATION_HEADER: letter.correlation_id or "",
            },
        )
        _log.error("dead_lettered", reason=reason, attempts=attempts, subject=msg.subject)
        await msg.ack()
