"""The rate budget of one vendor target shared by every writer replica, in NATS KV.

One key per target (bucket ``pdjira_budgets``) holds the GCRA state of the whole target
(:class:`BudgetState`): the theoretical arrival time of the next request (wall clock, so that
replicas on other hosts agree; NTP keeps their clocks far closer than a chunk), the rate
learned from the vendor's answers, the lower rate the server announced and when, and until
when the target is paused. A replica does not go to KV for every call: it reserves a *chunk*
(the slots of the next ``CHUNK_SECONDS`` at the current rate, at least one) with a
compare-and-set update and paces its calls inside it. A slot nobody takes within one interval
of its time is lost, never saved up: together the replicas never exceed the budget, and one
busy replica alone may use all of it (a static split would leave the idle replicas' shares
unused, and a replica could only learn of a pause from its own 429).

Adaptive, always at or below the configured rate: a rate the server announces in its headers
caps it (forgotten after ``LIMIT_MEMORY`` without being announced again); a 429 without such a
header halves the learned rate, which then climbs back to the configured one linearly over
``RECOVERY_SECONDS``. A pause (a 429's Retry-After, a spent budget) seen by any replica is
written to the key at once, so every replica waits it out: a call learns of it with its
reservation, or, having waited longer than a chunk for its slot, reads the key again first
(a call may go about ``CHUNK_SECONDS`` after another replica's pause began, no later). Lower
rates ride along with the next reservation: no KV write of their own.

When KV does not answer (NATS down, a timeout), the replica falls back to its local
:class:`Pacer` with the static split (``rate / replicas``), which can never exceed the budget
either (the switch itself may let one burst more through); it logs once when it falls back
and once when it shares again, and tries KV again every ``PROBE_SECONDS``. NATS trouble never
fails a call.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import msgspec
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from pdjira_common.logging import get_logger
from pdjira_common.ratelimit import LIMIT_MEMORY, Pacer
from pdjira_common.retry import Postponed
from pdjira_common.subjects import token

__all__ = [
    "CHUNK_SECONDS",
    "DECREASE",
    "RECOVERY_SECONDS",
    "BudgetState",
    "Chunk",
    "Observed",
    "SharedBudget",
    "budget_key",
    "current_rate",
    "merge",
    "plan_chunk",
]

_log = get_logger(__name__)
R = TypeVar("R")

CHUNK_SECONDS = 0.1  # a reservation covers the slots of the next 100 ms (at least one)
MAX_CHUNK = 64  # slots in one reservation, whatever the rate
DECREASE = 0.5  # the learned rate after a 429 without a rate header (times the current one)
DECREASE_HOLD = 1.0  # s: 429s closer together than this are one overload, one decrease
RECOVERY_SECONDS = 30.0  # s from zero back to the configured rate (additive increase)
MIN_SHARE = 1 / 64  # the learned rate never drops below this share of the configured one
CAS_TRIES = 20  # compare-and-set attempts against other replicas before falling back
KV_TIMEOUT = 0.5  # s for one KV operation before NATS counts as unreachable
PROBE_SECONDS = 2.0  # s between tries of KV while falling back


class BudgetState(msgspec.Struct, frozen=True, kw_only=True):
    """The value of a target's key: the shared GCRA state (times are ``time.time()``)."""

    version: int = 1
    tat: float = 0.0  # theoretical arrival time of the next slot
    rate: float  # the learned rate (requests per second) as of decreased_at
    decreased_at: float = 0.0  # when a 429 last lowered it (recovery counts from here)
    announced: float = 0.0  # the lower rate the server announced (0: none)
    announced_at: float = 0.0  # when it was last announced
    paused_until: float = 0.0  # no request before this


@dataclass(frozen=True, slots=True)
class Observed:
    """What one replica learned from answers and has not written to the key yet."""

    paused_until: float = 0.0
    announced: float = 0.0
    announced_at: float = 0.0
    throttled_at: float = 0.0  # a 429 without a rate header

    def __or__(self, other: Observed) -> Observed:
        newer = other if other.announced_at >= self.announced_at else self
        return Observed(
            paused_until=max(self.paused_until, other.paused_until),
            announced=newer.announced,
            announced_at=newer.announced_at,
            throttled_at=max(self.throttled_at, other.throttled_at),
        )


@dataclass(frozen=True, slots=True)
class Chunk:
    """Slots reserved for this replica (``slots``), or how long the first one is (``wait``)
    when that is more than ``max_wait`` away (nothing reserved then)."""

    slots: tuple[float, ...]
    interval: float
    paused_until: float
    wait: float = 0.0


def budget_key(vendor: str, target: str) -> str:
    """The key of a target: ``jira.dc1``, ``pagerduty.acme``."""
    return f"{token(vendor.lower())}.{token(target)}"


def current_rate(state: BudgetState, now: float, configured: float) -> float:
    """The rate now: the learned one recovering, capped by a recent announced one and config."""
    recovered = state.rate + max(0.0, now - state.decreased_at) * configured / RECOVERY_SECONDS
    rate = min(configured, recovered)
    if state.announced > 0 and now - state.announced_at <= LIMIT_MEMORY:
        rate = min(rate, state.announced)  # never above what the server said, no floor
    return rate


def merge(
    state: BudgetState | None, seen: Observed, now: float, *, configured: float, burst: int
) -> BudgetState:
    """``state`` with what a replica observed (idempotent: merging twice changes nothing)."""
    if state is None:
        state = BudgetState(rate=configured)
    if seen.announced_at > state.announced_at and seen.announced > 0:
        state = msgspec.structs.replace(
            state, announced=seen.announced, announced_at=seen.announced_at
        )
    if seen.throttled_at and seen.throttled_at - state.decreased_at >= DECREASE_HOLD:
        lowered = max(current_rate(state, now, configured) * DECREASE, configured * MIN_SHARE)
        state = msgspec.structs.replace(state, rate=lowered, decreased_at=seen.throttled_at)
    if seen.paused_until > state.paused_until:
        # An empty bucket at the end of the pause: no burst right after it.
        tau = (max(1, burst) - 1) / current_rate(state, now, configured)
        state = msgspec.structs.replace(
            state, paused_until=seen.paused_until, tat=max(state.tat, seen.paused_until + tau)
        )
    return state


def plan_chunk(
    state: BudgetState,
    now: float,
    *,
    configured: float,
    burst: int,
    max_wait: float,
    not_before: float = 0.0,
    chunk_seconds: float = CHUNK_SECONDS,
    demand: int = MAX_CHUNK,
) -> tuple[BudgetState, Chunk]:
    """Reserve the next chunk of slots (GCRA over the shared state); pure.

    ``not_before`` is a pause this replica knows of and the key may not yet. ``demand``: the
    calls waiting for a slot now; no more are reserved (a slot nobody takes is lost: a chunk
    for one call spent a whole chunk of the budget, and under steady load the shared queue
    ran seconds deep)."""
    rate = current_rate(state, now, configured)
    interval = 1.0 / rate
    tau = (max(1, burst) - 1) * interval
    first = max(now, state.tat - tau, state.paused_until, not_before)
    if first - now > max_wait:
        return state, Chunk((), interval, state.paused_until, wait=first - now)
    wanted = min(MAX_CHUNK, max(1, math.ceil(rate * chunk_seconds - 1e-9)), max(1, demand))
    slots: list[float] = []
    tat = state.tat
    for _ in range(wanted):
        slot = max(first, tat - tau)
        tat = max(tat, slot) + interval
        slots.append(slot)
    return msgspec.structs.replace(state, tat=tat), Chunk(
        tuple(slots), interval, state.paused_until
    )


class _KvTrouble(Exception):
    """KV did not answer as it should: fall back to the local pacer."""


class SharedBudget:
    """``await budget.acquire(what)`` before each call to the target; ``observe_limit`` and
    ``pause`` after its answer, ``throttled()`` after a 429 that named no rate. The surface of
    :class:`Pacer`; clock (wall clock) and sleep are injectable for tests."""

    def __init__(
        self,
        *,
        open_bucket: Callable[[], Awaitable[KeyValue]],
        key: str,
        rate: float,
        burst: int = 1,
        replicas: int = 1,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        kv_timeout: float = KV_TIMEOUT,
        chunk_seconds: float = CHUNK_SECONDS,
    ) -> None:
        self.key = key
        self.configured = rate
        self.burst = max(1, burst)
        self._open_bucket = open_bucket
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._kv_timeout = kv_timeout
        self._chunk_seconds = chunk_seconds
        # This replica's share, used while KV is out of reach; it follows the same answers.
        self.local = Pacer(
            rate=rate, burst=burst, replicas=replicas, max_wait=max_wait, clock=clock, sleep=sleep
        )
        self._kv: KeyValue | None = None
        self._slots: deque[float] = deque()
        self._interval = 1.0 / rate
        self._not_before = 0.0  # pauses this replica knows of (its own and the key's)
        self._seen = Observed()  # not yet written to the key
        self._known: BudgetState | None = None  # the key as last read or written
        self._lock = asyncio.Lock()
        self._queued = 0  # calls waiting for the lock to reserve (the demand of a chunk)
        self._chunk = 1  # slots of the next reservation when one call asks (grows, shrinks)
        self._lost = False  # a reserved slot went unused since the last reservation
        self._push: asyncio.Task[None] | None = None
        self._fallback_since: float | None = None
        self._next_probe = 0.0
        self._checked_at = 0.0  # when the key was last read

    @property
    def shared(self) -> bool:
        """False while falling back to the local split."""
        return self._fallback_since is None

    @property
    def paused_until(self) -> float:
        return self._not_before

    @property
    def rate(self) -> float:
        """The target's current rate as this replica knows it."""
        state = self._known or BudgetState(rate=self.configured)
        state = merge(state, self._seen, self._clock(), configured=self.configured, burst=1)
        return current_rate(state, self._clock(), self.configured)

    # ------------------------------------------------------------------ calls

    async def acquire(self, what: str) -> None:
        """Wait for this request's slot; a wait longer than ``max_wait`` retries the command."""
        while True:
            if self._local_only():
                await self.local.acquire(what)
                return
            slot = self._claim(self._clock())
            if slot is None:
                self._queued += 1
                try:
                    await self._lock.acquire()
                finally:
                    self._queued -= 1
                try:
                    if self._local_only():
                        continue  # another waiter found KV out of reach just now
                    slot = self._claim(self._clock())  # another waiter may have reserved
                    if slot is None:
                        try:
                            await self._reserve(what)
                        except _KvTrouble as exc:
                            self._fall_back(exc)
                            continue
                        # The first slot of a fresh chunk is ours however long KV took.
                        slot = self._slots.popleft() if self._slots else None
                finally:
                    self._lock.release()
                if slot is None:
                    continue
            while (now := self._clock()) < slot:
                await self._sleep(slot - now)
            if self.shared:
                await self._refresh()  # after a long wait: another replica may have paused
            # A pause seen while we slept (here or by another replica) holds this call too.
            if self._clock() >= self._not_before:
                return

    def pause(self, seconds: float | None) -> None:
        """The server asked for ``seconds`` of quiet: every replica waits (written at once)."""
        self.local.pause(seconds)
        if seconds and seconds > 0:
            until = self._clock() + seconds
            self._not_before = max(self._not_before, until)
            self._slots.clear()  # slots inside the pause are lost
            self._observe(Observed(paused_until=until), push=True)

    def observe_limit(self, server_rate: float | None) -> None:
        """The server's own limit for the whole login: no replica goes above it (written with
        the next reservation)."""
        self.local.observe_limit(server_rate)
        if server_rate and 0 < server_rate < self.configured:
            self._observe(Observed(announced=server_rate, announced_at=self._clock()))

    def throttled(self) -> None:
        """A 429 that named no rate: the learned rate halves for every replica."""
        self.local.throttled()
        self._observe(Observed(throttled_at=self._clock()), push=True)

    async def flush(self) -> None:
        """Wait for the pending write of a pause (tests; shutdown)."""
        while (push := self._push) is not None and not push.done():
            await asyncio.wait([push])

    async def aclose(self) -> None:
        if self._push is not None:
            self._push.cancel()
            await asyncio.gather(self._push, return_exceptions=True)

    # ------------------------------------------------------------------ inside

    def _local_only(self) -> bool:
        """Falling back, and not yet the time to try KV again."""
        return not self.shared and self._clock() < self._next_probe

    def _claim(self, now: float) -> float | None:
        """The next slot of the chunk; slots more than one interval old are lost."""
        while self._slots and self._slots[0] + self._interval <= now:
            self._slots.popleft()
            self._lost = True
        return self._slots.popleft() if self._slots else None

    def _next_chunk(self) -> int:
        """Slots to reserve next: twice the last chunk while every slot of it was used (a busy
        caller makes one reservation per chunk), half of it once slots were lost (sporadic
        calls spend one slot each, not a chunk's worth of the shared budget)."""
        if self._lost or self._slots:  # lost, or a reservation made while slots remain
            self._chunk = max(1, self._chunk // 2)
        else:
            self._chunk = min(MAX_CHUNK, self._chunk * 2)
        self._lost = False
        return self._chunk

    async def _refresh(self) -> None:
        """Learn of a pause another replica wrote, unless the key was read within a chunk (a
        call whose slot came with its reservation goes at once)."""
        if self._clock() - self._checked_at <= self._chunk_seconds:
            return
        async with self._lock:
            if self._clock() - self._checked_at <= self._chunk_seconds:
                return
            self._checked_at = self._clock()
            try:
                state, _ = await self._read(await self._bucket())
            except Exception:  # the local view stands; the next reservation falls back
                return
            if state is not None:
                self._known = state
                if state.paused_until > self._not_before:
                    self._not_before = state.paused_until
                    self._slots.clear()

    def _observe(self, seen: Observed, *, push: bool = False) -> None:
        self._seen = self._seen | seen
        if not push or not self.shared:
            return  # written with the next reservation / once KV answers again
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._push is None or self._push.done():
            self._push = asyncio.create_task(self._write_seen(), name=f"budget-{self.key}")

    async def _write_seen(self) -> None:
        try:
            # Again if a 429 came while writing (a few times at most: the next reservation
            # writes what is left anyway).
            for _ in range(3):
                async with self._lock:
                    await self._update(lambda state, now: (self._merged(state, now), None))
                if self._seen == Observed():
                    return
        except _KvTrouble as exc:
            self._fall_back(exc)

    def _merged(self, state: BudgetState | None, now: float) -> BudgetState:
        return merge(state, self._seen, now, configured=self.configured, burst=self.burst)

    async def _reserve(self, what: str) -> None:
        # This call and those queued behind it, or more while chunks are used up.
        demand = max(1 + self._queued, self._next_chunk())

        def plan(state: BudgetState | None, now: float) -> tuple[BudgetState, Chunk]:
            return plan_chunk(
                self._merged(state, now),
                now,
                configured=self.configured,
                burst=self.burst,
                max_wait=self._max_wait,
                not_before=self._not_before,
                chunk_seconds=self._chunk_seconds,
                demand=demand,
            )

        chunk = await self._update(plan)
        self._not_before = max(self._not_before, chunk.paused_until)
        if chunk.wait:
            # Our own pacing, not a failure: the command waits without spending attempts.
            raise Postponed(
                f"{what} postponed: rate limit, next request in {chunk.wait:.1f}s", delay=chunk.wait
            )
        self._interval = chunk.interval
        self._slots.extend(chunk.slots)

    async def _update(
        self, change: Callable[[BudgetState | None, float], tuple[BudgetState, R]]
    ) -> R:
        """Apply ``change`` to the key with compare-and-set; what was seen is then written."""
        seen = self._seen
        try:
            kv = await self._bucket()
            for _ in range(CAS_TRIES):
                state, revision = await self._read(kv)
                now = self._checked_at = self._clock()
                new, result = change(state, now)
                try:
                    async with asyncio.timeout(self._kv_timeout):
                        if new == state:
                            pass  # a postponement: nothing to write
                        elif revision is None:
                            await kv.create(self.key, msgspec.json.encode(new))
                        else:
                            await kv.update(self.key, msgspec.json.encode(new), last=revision)
                except KeyWrongLastSequenceError:
                    continue  # another replica went first: plan again on its state
                self._known = new
                if self._seen == seen:
                    self._seen = Observed()
                if not self.shared:
                    self._share_again()
                return result
        except (_KvTrouble, asyncio.CancelledError):
            raise
        except Exception as exc:  # NATS down, a timeout, a bucket missing: never the call's
            self._kv = None
            raise _KvTrouble(f"{type(exc).__name__}: {exc}") from exc
        raise _KvTrouble(f"{CAS_TRIES} compare-and-set conflicts in a row")

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            async with asyncio.timeout(self._kv_timeout):
                self._kv = await self._open_bucket()
        return self._kv

    async def _read(self, kv: KeyValue) -> tuple[BudgetState | None, int | None]:
        try:
            async with asyncio.timeout(self._kv_timeout):
                entry = await kv.get(self.key)
        except (KeyNotFoundError, KeyDeletedError):
            return None, None
        try:
            state = msgspec.json.decode(entry.value or b"", type=BudgetState)
        except (msgspec.DecodeError, msgspec.ValidationError):
            state = None  # unreadable (another version): start again from the config
        return state, entry.revision

    def _fall_back(self, exc: _KvTrouble) -> None:
        now = self._clock()
        self._next_probe = now + PROBE_SECONDS
        if self._fallback_since is not None:
            return
        self._fallback_since = now
        # Slots of this replica's chunk may still be spent: the local share starts after them.
        if self._slots:
            self.local.pause(self._slots[-1] + self._interval - now)
        self._slots.clear()
        if self._not_before > now:
            self.local.pause(self._not_before - now)
        _log.warning("rate_budget_local", target=self.key, reason=str(exc))

    def _share_again(self) -> None:
        since = self._fallback_since or self._clock()
        self._fallback_since = None
        _log.info("rate_budget_shared", target=self.key, after=round(self._clock() - since, 1))
