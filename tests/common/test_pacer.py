"""The client-side rate limit of one vendor target (``Pacer``), on virtual time."""

from __future__ import annotations

import asyncio

import pytest
from pdjira_common.config import RetrySettings
from pdjira_common.ratelimit import LIMIT_MEMORY, Pacer
from pdjira_common.retry import DeadLetterNow, Postponed, RetryLater, after_failure
from pdjira_simulators.common.ratelimit import TokenBucketLimiter
from support.virtual_time import VirtualClock


async def test_pacer_spaces_requests_at_the_rate() -> None:
    async with VirtualClock(start=100.0) as clock:
        pacer = Pacer(rate=10.0, burst=1, clock=clock, sleep=clock.sleep)
        for _ in range(4):
            await pacer.acquire("x")
    assert clock.slept == [0.1, 0.1, 0.1]


async def test_pacer_allows_the_burst_then_paces() -> None:
    async with VirtualClock(start=100.0) as clock:
        pacer = Pacer(rate=10.0, burst=3, clock=clock, sleep=clock.sleep)
        for _ in range(5):
            await pacer.acquire("x")
    assert clock.slept == [0.1, 0.1]


async def test_replicas_split_the_budget() -> None:
    async with VirtualClock(start=100.0) as clock:
        pacer = Pacer(rate=10.0, burst=1, replicas=2, clock=clock, sleep=clock.sleep)
        for _ in range(3):
            await pacer.acquire("x")
    assert clock.slept == [0.2, 0.2]


async def test_pause_holds_every_request_until_it_ends_then_paces() -> None:
    async with VirtualClock(start=100.0) as clock:
        pacer = Pacer(rate=10.0, burst=5, clock=clock, sleep=clock.sleep)
        await pacer.acquire("x")
        pacer.pause(2.0)  # a 429 with Retry-After: 2
        await pacer.acquire("x")
        await pacer.acquire("x")
    assert clock.now == pytest.approx(102.1)
    assert clock.slept == [2.0, 0.1]


async def test_a_pause_that_comes_while_a_call_waits_holds_that_call_too() -> None:
    async with VirtualClock(start=100.0) as clock:
        pacer = Pacer(rate=10.0, burst=1, clock=clock, sleep=clock.sleep)
        await pacer.acquire("first")
        sent: list[float] = []

        async def call() -> None:
            await pacer.acquire("second")  # its slot is 100.1
            sent.append(clock())

        waiting = asyncio.create_task(call())
        await asyncio.sleep(0)  # it now sleeps until its slot
        pacer.pause(2.0)  # meanwhile another call got a 429 with Retry-After: 2
        await waiting
    assert sent == [pytest.approx(102.0)]  # not at 100.1, inside the pause


async def test_a_long_pause_retries_the_command_later() -> None:
    async with VirtualClock(start=100.0) as clock:
        pacer = Pacer(rate=10.0, max_wait=5.0, clock=clock, sleep=clock.sleep)
        pacer.pause(30.0)
        with pytest.raises(Postponed) as caught:
            await pacer.acquire("create issue")
    assert caught.value.delay == pytest.approx(30.0)
    assert clock.slept == []


def test_a_postponement_waits_without_spending_an_attempt() -> None:
    settings = RetrySettings(max_attempts=2, prerequisite_max_attempts=5)
    postponed = Postponed("search postponed: rate limit", delay=6.0)
    verdict = after_failure(postponed, attempt=2, waits=1, settings=settings)
    assert verdict == RetryLater("search postponed: rate limit", 6.0, waiting=True)
    assert isinstance(
        after_failure(postponed, attempt=1, waits=5, settings=settings), DeadLetterNow
    )


async def test_a_lower_limit_not_announced_again_is_forgotten() -> None:
    async with VirtualClock(start=100.0) as clock:
        pacer = Pacer(rate=50.0, clock=clock, sleep=clock.sleep)
        pacer.observe_limit(1.0)  # a burst of 429s naming a low rate
        assert pacer.rate == 1.0
        await clock.sleep(LIMIT_MEMORY + 1)
        await pacer.acquire("search")
    assert pacer.rate == 50.0


def test_server_limit_only_lowers_the_rate() -> None:
    pacer = Pacer(rate=50.0, replicas=2)
    pacer.observe_limit(20.0)
    assert pacer.rate == 10.0
    pacer.observe_limit(500.0)
    assert pacer.rate == 25.0


async def test_two_replicas_calling_at_once_stay_inside_the_servers_bucket() -> None:
    limit = 10  # Jira DC's bucket for the login: 10 banked, 10 per second
    async with VirtualClock() as clock:
        bucket = TokenBucketLimiter(
            capacity=limit, fill_rate=limit, interval_seconds=1, clock=clock
        )
        replicas = [
            Pacer(rate=limit, burst=1, replicas=2, clock=clock, sleep=clock.sleep) for _ in range(2)
        ]
        sent: list[tuple[float, bool]] = []

        async def call(pacer: Pacer) -> None:
            await pacer.acquire("search")
            sent.append((clock(), bucket.take("pdjira").allowed))

        await asyncio.gather(*(call(replicas[i % 2]) for i in range(60)))
    assert all(allowed for _, allowed in sent)
    times = sorted(t for t, _ in sent)
    assert max(sum(1 for u in times if t <= u < t + 1.0) for t in times) <= limit
