"""Rate limiters with the vendors' semantics; pure apart from the injected clock.

PagerDuty: a per-token budget per minute with `ratelimit-*` headers. Jira DC: an opt-in
per-user token bucket (bucket size, tokens added per interval).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BucketDecision", "FixedWindowLimiter", "TokenBucketLimiter", "WindowDecision"]


@dataclass(frozen=True, slots=True)
class WindowDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int


class FixedWindowLimiter:
    """`limit` requests per `window` seconds per key; the window starts at the first request."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}

    def configure(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self._windows.clear()

    def hit(self, key: str) -> WindowDecision:
        now = self._clock()
        start, used = self._windows.get(key, (now, 0))
        if now - start >= self.window:
            start, used = now, 0
        reset = max(0, math.ceil(start + self.window - now))
        if used >= self.limit:
            self._windows[key] = (start, used)
            return WindowDecision(False, self.limit, 0, reset)
        used += 1
        self._windows[key] = (start, used)
        return WindowDecision(True, self.limit, self.limit - used, reset)


@dataclass(frozen=True, slots=True)
class BucketDecision:
    allowed: bool
    capacity: int
    remaining: int
    fill_rate: int
    interval_seconds: int
    retry_after: int


class TokenBucketLimiter:
    """Jira DC: `fill_rate` tokens every `interval_seconds`, at most `capacity` banked."""

    def __init__(
        self,
        *,
        capacity: int,
        fill_rate: int,
        interval_seconds: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.fill_rate = fill_rate
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> BucketDecision:
        now = self._clock()
        tokens, last = self._buckets.get(key, (float(self.capacity), now))
        rate = self.fill_rate / self.interval_seconds  # tokens per second
        tokens = min(float(self.capacity), tokens + (now - last) * rate)
        if tokens >= 1.0:
            tokens -= 1.0
            self._buckets[key] = (tokens, now)
            return self._decision(True, tokens, 0)
        self._buckets[key] = (tokens, now)
        retry_after = math.ceil((1.0 - tokens) / rate) if rate > 0 else self.interval_seconds
        return self._decision(False, tokens, max(1, retry_after))

    def _decision(self, allowed: bool, tokens: float, retry_after: int) -> BucketDecision:
        return BucketDecision(
            allowed,
            self.capacity,
            int(tokens),
            self.fill_rate,
            self.interval_seconds,
            retry_after,
        )
