"""Spacing requests to one PagerDuty account as its rate-limit headers ask.

A command makes several calls (read the incident, then update it). Retrying the whole command
after a 429 as soon as *one* request is allowed again would spend it on the first call and hit
the limit again on the second, forever. So after any answer that says the budget is spent, the
next call waits for it here (briefly) or the command is retried once that much time has passed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pdjira_common.bus import Retryable

__all__ = ["Throttle"]


class Throttle:
    """``not before`` gate of one vendor target; per client, so per account token."""

    def __init__(
        self,
        *,
        max_inline_wait: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._max_inline_wait = max_inline_wait
        self._clock = clock
        self._sleep = sleep
        self._not_before = 0.0

    async def before_request(self, what: str) -> None:
        """Wait until the target accepts requests again; too long a wait retries the command."""
        wait = self._not_before - self._clock()
        if wait <= 0:
            return
        if wait > self._max_inline_wait:
            raise Retryable(
                f"{what} postponed: rate limit, next request in {wait:.1f}s", delay=wait
            )
        await self._sleep(wait)

    def pause(self, seconds: float | None) -> None:
        """The target asked for ``seconds`` of quiet before the next request."""
        if seconds:
            self._not_before = max(self._not_before, self._clock() + seconds)
