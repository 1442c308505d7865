"""Virtual time for what paces itself (``Pacer``) and what rate-limits (the simulators' limiters):
a ``sleep`` ends at once in real time, and ``now`` moves to its end.

Sleeps end one at a time, earliest end first, and only once every other task has had its turn
(the loop has gone round ``SETTLE_ROUNDS`` times): what several tasks do at the same virtual
moment happens before time moves on, as it would in real time. In-process (the simulators
served through ``httpx.ASGITransport``) that makes a run deterministic; across real sockets a
sleep may end while a request is still on the wire, so keep such tests to one flow at a time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass
from types import TracebackType

import httpx

__all__ = ["Sent", "TimedTransport", "VirtualClock"]

SETTLE_ROUNDS = 50


class VirtualClock:
    """``clock()`` is the time; ``await clock.sleep(s)``; ``clock.slept`` the sleeps asked for.

    Use ``async with VirtualClock() as clock:`` (it moves time while open)."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._asleep = asyncio.Event()
        self._driver: asyncio.Task[None] | None = None

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        if self._driver is None:
            raise RuntimeError("VirtualClock.sleep outside `async with VirtualClock()`")
        self.slept.append(round(seconds, 6))
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), woken))
        self._asleep.set()
        await woken

    async def __aenter__(self) -> VirtualClock:
        self._driver = asyncio.create_task(self._drive(), name="virtual-time")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._driver is not None
        self._driver.cancel()
        await asyncio.gather(self._driver, return_exceptions=True)
        self._driver = None

    async def _drive(self) -> None:
        while True:
            await self._asleep.wait()
            for _ in range(SETTLE_ROUNDS):
                await asyncio.sleep(0)
            while self._sleepers and self._sleepers[0][2].done():  # cancelled meanwhile
                heapq.heappop(self._sleepers)
            if not self._sleepers:
                self._asleep.clear()
                continue
            wake, _, woken = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            woken.set_result(None)


@dataclass(frozen=True, slots=True)
class Sent:
    """One request as a vendor got it: when (virtual time), where, what, and its answer."""

    at: float
    target: str
    method: str
    path: str
    status: int


class TimedTransport(httpx.AsyncBaseTransport):
    """Sends through ``inner`` (a simulator in-process over ASGI, or real HTTP) and appends a
    :class:`Sent` for each request to ``log``, stamped with ``clock`` when it reaches the vendor.

    ``latency`` (virtual seconds each way) stands for the network: without it an in-process
    request is answered before any other task runs, and no two are ever in flight at once."""

    def __init__(
        self,
        clock: VirtualClock,
        log: list[Sent],
        target: str,
        inner: httpx.AsyncBaseTransport,
        *,
        latency: float = 0.0,
    ) -> None:
        self._clock = clock
        self._log = log
        self._target = target
        self._inner = inner
        self._latency = latency

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._clock.sleep(self._latency)
        at = self._clock()
        response = await self._inner.handle_async_request(request)
        await self._clock.sleep(self._latency)
        self._log.append(
            Sent(at, self._target, request.method, request.url.path, response.status_code)
        )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
