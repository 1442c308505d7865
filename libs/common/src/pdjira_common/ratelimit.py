"""Client-side rate limit of one vendor target (a Jira instance, a PagerDuty token), local to
one process.

It starts from the configured budget and only ever goes *below* it when the server says so:
its limit headers lower the rate, a 429 or a spent budget pauses the target until the time the
server named. Each target has its own ``Pacer``, so a paused target never holds up the others.

The writers share a target's budget among their replicas at run time
(:mod:`pdjira_common.shared_budget`, in NATS KV). ``Pacer`` is what a replica falls back to
when KV cannot be reached, and what runs without NATS: there, ``replicas`` **splits** the
budget (each takes ``1 / replicas`` of it), so that the total can never exceed it without any
coordination; while a replica is down its share is unused.

The pacing is GCRA (a token bucket expressed as a "theoretical arrival time"): calls are spaced
``1 / rate`` apart with at most ``burst`` at once, in the order they asked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pdjira_common.retry import Postponed

__all__ = ["LIMIT_MEMORY", "Pacer"]

# How long a lower limit the server announced is kept without being announced again: a burst
# of 429s (whose headers name a low rate) must not slow the target for good.
LIMIT_MEMORY = 60.0


class Pacer:
    """When the next request to one target may go; clock and sleep injectable for tests."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int = 1,
        replicas: int = 1,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.replicas = max(1, replicas)
        self.configured = rate / self.replicas  # this replica's share of the budget
        self.rate = self.configured
        self.burst = max(1, burst // self.replicas) if burst > 1 else 1
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._tat = 0.0  # theoretical arrival time of the next request
        self._not_before = 0.0
        self._limit_seen_at = 0.0

    @property
    def paused_until(self) -> float:
        return self._not_before

    def reserve(self, now: float) -> float:
        """Take the next slot; return how long to wait for it (0 = go now). Pure but for state."""
        interval = 1.0 / self.rate
        tau = (self.burst - 1) * interval
        slot = max(now, self._tat - tau, self._not_before)
        self._tat = max(self._tat, slot) + interval
        return slot - now

    def next_wait(self, now: float) -> float:
        """How long a request asking at ``now`` would wait (without taking the slot)."""
        interval = 1.0 / self.rate
        return max(0.0, max(self._tat - (self.burst - 1) * interval, self._not_before) - now)

    async def acquire(self, what: str) -> None:
        """Wait for this request's slot; a wait longer than ``max_wait`` retries the command."""
        while True:
            now = self._clock()
            if self.rate < self.configured and now - self._limit_seen_at > LIMIT_MEMORY:
                self.rate = self.configured  # the lower limit was not announced again
            wait = self.next_wait(now)
            if wait > self._max_wait:
                # Our own pacing, not a failure: the command waits without spending attempts.
                raise Postponed(
                    f"{what} postponed: rate limit, next request in {wait:.1f}s", delay=wait
                )
            wait = self.reserve(now)
            if wait > 0:
                await self._sleep(wait)
            # A 429 seen by another call while we slept moves the pause: never go inside it.
            if self._clock() >= self._not_before:
                return

    def pause(self, seconds: float | None) -> None:
        """The server asked for ``seconds`` of quiet; calls after it are paced again, no burst."""
        if seconds and seconds > 0:
            self._not_before = max(self._not_before, self._clock() + seconds)
            # An empty bucket at the end of the pause: no burst right after it.
            self._tat = max(self._tat, self._not_before + (self.burst - 1) / self.rate)

    def throttled(self) -> None:
        """A 429 that named no rate: the local pacer relies on the pause the server asked for
        (the shared budget also lowers its learned rate)."""

    def observe_limit(self, server_rate: float | None) -> None:
        """The server's own limit (requests per second for the whole login): never exceed it."""
        if server_rate and server_rate > 0:
            self.rate = min(self.configured, server_rate / self.replicas)
            self._limit_seen_at = self._clock()
