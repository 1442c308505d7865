"""The rate budget the writer replicas share in KV (``SharedBudget``): the decision on the shared
state (pure), the budget on an in-memory KV and virtual time, then three replicas on a real
nats-server (and with it stopped)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import structlog
from nats.aio.client import Client
from pdjira_common.ratelimit import LIMIT_MEMORY
from pdjira_common.retry import Postponed
from pdjira_common.shared_budget import (
    PROBE_SECONDS,
    BudgetState,
    Observed,
    SharedBudget,
    budget_key,
    current_rate,
    merge,
    plan_chunk,
)
from pdjira_common.streams import KV_BUDGETS
from pdjira_devstack.nats_server import NatsServer
from support.memory_kv import MemoryKv
from support.virtual_time import VirtualClock

NOW = 1_000.0

# ---------------------------------------------------------------------- the shared decision


def test_a_chunk_is_the_slots_of_the_next_tenth_of_a_second_at_least_one() -> None:
    state, chunk = plan_chunk(BudgetState(rate=40.0), NOW, configured=40.0, burst=1, max_wait=60)
    assert chunk.slots == pytest.approx((NOW, NOW + 0.025, NOW + 0.05, NOW + 0.075))
    assert state.tat == pytest.approx(NOW + 0.1)
    _, slow = plan_chunk(BudgetState(rate=2.0), NOW, configured=2.0, burst=1, max_wait=60)
    assert slow.slots == (NOW,)


def test_chunks_follow_one_another_and_spend_the_burst_once() -> None:
    state = BudgetState(rate=10.0)
    firsts = []
    for _ in range(5):  # five replicas reserving at the same moment
        state, chunk = plan_chunk(state, NOW, configured=10.0, burst=3, max_wait=60)
        firsts.extend(chunk.slots)
    assert firsts == pytest.approx([NOW, NOW, NOW, NOW + 0.1, NOW + 0.2])


def test_a_pause_moves_the_next_slot_past_it_without_a_burst() -> None:
    state = merge(
        BudgetState(rate=10.0), Observed(paused_until=NOW + 2), NOW, configured=10.0, burst=3
    )
    slots = []
    for _ in range(2):
        state, chunk = plan_chunk(state, NOW, configured=10.0, burst=3, max_wait=60)
        slots.extend(chunk.slots)
    assert slots == pytest.approx([NOW + 2, NOW + 2.1])


def test_a_pause_this_replica_knows_of_holds_its_chunk_too() -> None:
    _, chunk = plan_chunk(
        BudgetState(rate=10.0), NOW, configured=10.0, burst=1, max_wait=60, not_before=NOW + 1
    )
    assert chunk.slots == (NOW + 1,)


def test_a_wait_beyond_max_wait_reserves_nothing() -> None:
    paused = BudgetState(rate=10.0, paused_until=NOW + 90)
    state, chunk = plan_chunk(paused, NOW, configured=10.0, burst=1, max_wait=60)
    assert state == paused
    assert chunk.slots == ()
    assert chunk.wait == pytest.approx(90)


def test_a_429_halves_the_rate_once_then_it_recovers_linearly() -> None:
    state = merge(None, Observed(throttled_at=NOW), NOW, configured=10.0, burst=1)
    assert current_rate(state, NOW, 10.0) == pytest.approx(5.0)
    # More 429s of the same overload, and merging what was seen again: one decrease.
    again = merge(state, Observed(throttled_at=NOW + 0.5), NOW + 0.5, configured=10.0, burst=1)
    assert merge(again, Observed(throttled_at=NOW), NOW + 0.5, configured=10.0, burst=1) == again
    assert current_rate(again, NOW + 0.5, 10.0) == pytest.approx(5.0 + 0.5 * 10 / 30)
    assert current_rate(again, NOW + 6, 10.0) == pytest.approx(7.0)
    assert current_rate(again, NOW + 60, 10.0) == 10.0  # never above the configured rate
    later = merge(again, Observed(throttled_at=NOW + 6), NOW + 6, configured=10.0, burst=1)
    assert current_rate(later, NOW + 6, 10.0) == pytest.approx(3.5)


def test_the_rate_never_drops_to_nothing_on_429s() -> None:
    state: BudgetState | None = None
    for i in range(20):
        state = merge(
            state, Observed(throttled_at=NOW + 2 * i), NOW + 2 * i, configured=64.0, burst=1
        )
    assert state is not None
    assert current_rate(state, state.decreased_at, 64.0) >= 1.0


def test_an_announced_rate_caps_until_it_is_not_announced_again() -> None:
    seen = Observed(announced=4.0, announced_at=NOW)
    state = merge(BudgetState(rate=10.0), seen, NOW, configured=10.0, burst=1)
    assert current_rate(state, NOW + LIMIT_MEMORY - 1, 10.0) == 4.0
    assert current_rate(state, NOW + LIMIT_MEMORY + 1, 10.0) == 10.0
    older = Observed(announced=2.0, announced_at=NOW - 5)
    assert merge(state, older, NOW, configured=10.0, burst=1) == state  # the newer one stays


def test_observations_combine_to_the_latest_and_longest() -> None:
    a = Observed(paused_until=NOW + 5, announced=3.0, announced_at=NOW, throttled_at=NOW)
    b = Observed(paused_until=NOW + 1, announced=4.0, announced_at=NOW + 1)
    assert a | b == Observed(
        paused_until=NOW + 5, announced=4.0, announced_at=NOW + 1, throttled_at=NOW
    )


def test_keys_are_tokens() -> None:
    assert budget_key("Jira", "dc1") == "jira.dc1"
    assert budget_key("PagerDuty", "a.b c").startswith("pagerduty.")
    assert "." not in budget_key("PagerDuty", "a.b c").split(".", 1)[1]


# ---------------------------------------------------------------------- in-memory KV


def budgets(kv: MemoryKv, clock: VirtualClock, n: int, **kw: Any) -> list[SharedBudget]:
    async def open_bucket() -> Any:
        return kv

    options: dict[str, Any] = {"rate": 10.0, "burst": 1, "replicas": n} | kw
    return [
        SharedBudget(
            open_bucket=open_bucket, key="jira.dc1", clock=clock, sleep=clock.sleep, **options
        )
        for _ in range(n)
    ]


async def test_replicas_take_turns_on_one_budget() -> None:
    kv = MemoryKv()
    async with VirtualClock(start=NOW) as clock:
        a, b = budgets(kv, clock, 2)
        sent = []
        for budget in (a, b, a, b):
            await budget.acquire("x")
            sent.append(clock())
    assert sent == pytest.approx([NOW, NOW + 0.1, NOW + 0.2, NOW + 0.3])  # 10/s, not 5 + 5
    assert kv.state().tat == pytest.approx(NOW + 0.4)


async def test_one_busy_replica_may_use_the_whole_budget() -> None:
    kv = MemoryKv()
    async with VirtualClock(start=NOW) as clock:
        a, _ = budgets(kv, clock, 2, rate=40.0)
        for _ in range(9):
            await a.acquire("x")
    assert clock() == pytest.approx(NOW + 0.2)
    assert kv.writes == 3  # one reservation per chunk of four slots, not one per call


async def test_sporadic_calls_do_not_reserve_a_whole_chunk_each() -> None:
    # Calls a second apart at 40/s: a chunk of four slots for each, three of them lost, spent
    # four times the budget the calls used (under load the shared queue ran seconds deep).
    kv = MemoryKv()
    async with VirtualClock(start=NOW) as clock:
        a, _ = budgets(kv, clock, 2, rate=40.0)
        for _ in range(6):
            await a.acquire("x")
            assert kv.state().tat <= clock() + 2 * 0.025 + 1e-9  # two slots at most
            await clock.sleep(1.0)


async def test_a_pause_one_replica_records_holds_the_others() -> None:
    kv = MemoryKv()
    async with VirtualClock(start=NOW) as clock:
        a, b = budgets(kv, clock, 2)
        await a.acquire("x")
        await b.acquire("x")
        a.pause(2.0)  # a 429 with Retry-After: 2
        a.throttled()
        await a.flush()
        assert kv.state().paused_until == pytest.approx(NOW + 2.1)
        await b.acquire("x")
        assert clock() == pytest.approx(NOW + 2.1)
        # Halved for every replica (5/s), and climbing back since (+10/30 per second).
        assert b.rate == pytest.approx(5.0 + 2.0 / 3)
        await b.acquire("x")
    assert clock() == pytest.approx(NOW + 2.3)  # 5/s when it was reserved, no burst


async def test_a_call_that_waited_for_its_slot_sees_a_pause_written_meanwhile() -> None:
    kv = MemoryKv()
    async with VirtualClock(start=NOW) as clock:
        a, b = budgets(kv, clock, 2)
        sent: list[float] = []

        async def call() -> None:
            await b.acquire("x")
            sent.append(clock())

        queued = [asyncio.create_task(call()) for _ in range(4)]  # slots NOW .. NOW + 0.3
        for _ in range(10):
            await asyncio.sleep(0)
        a.pause(2.0)  # another replica's 429, after b reserved its slots
        await a.flush()
        await asyncio.gather(*queued)
    assert sent[0] == NOW
    assert sent[-1] >= NOW + 2.0  # read the key again after its wait: held by the pause


async def test_a_long_shared_pause_retries_the_command_later() -> None:
    kv = MemoryKv()
    async with VirtualClock(start=NOW) as clock:
        a, b = budgets(kv, clock, 2, max_wait=5.0)
        a.pause(30.0)
        await a.flush()
        with pytest.raises(Postponed) as caught:
            await b.acquire("create issue")
    assert caught.value.delay == pytest.approx(30.0)


async def test_a_lower_announced_rate_reaches_the_others_with_the_next_reservation() -> None:
    kv = MemoryKv()
    async with VirtualClock(start=NOW) as clock:
        a, b = budgets(kv, clock, 2)
        await a.acquire("x")
        a.observe_limit(4.0)
        writes = kv.writes
        await a.acquire("x")  # reserves, and writes the announced rate with it
        assert kv.writes == writes + 1
        await b.acquire("x")
        start = clock()
        await b.acquire("x")
    assert b.rate == 4.0
    assert clock() - start == pytest.approx(0.25)


async def test_without_kv_a_replica_takes_its_split_then_shares_again() -> None:
    kv = MemoryKv()
    kv.broken = True
    async with VirtualClock(start=NOW) as clock:
        a, _ = budgets(kv, clock, 2)
        with structlog.testing.capture_logs() as logs:
            sent = []
            for _ in range(3):
                await a.acquire("x")
                sent.append(clock())
            assert not a.shared
            assert sent == pytest.approx([NOW, NOW + 0.2, NOW + 0.4])  # 10/s split by 2
            kv.broken = False
            while clock() < NOW + PROBE_SECONDS:
                await a.acquire("x")
            await a.acquire("x")
        assert a.shared
    events = [entry["event"] for entry in logs]
    assert events == ["rate_budget_local", "rate_budget_shared"]  # once each


async def test_a_pause_seen_while_falling_back_is_written_once_kv_answers() -> None:
    kv = MemoryKv()
    async with VirtualClock(start=NOW) as clock:
        a, b = budgets(kv, clock, 2)
        await a.acquire("x")
        kv.broken = True
        a.pause(5.0)
        await a.flush()
        kv.broken = False
        await b.acquire("x")  # b never saw KV fail, and a's pause is not there yet
        b_first = clock()
        await a.acquire("x")  # its local pacer holds it until the pause is over
        assert clock() == pytest.approx(NOW + 5.0)
        await a.acquire("x")  # then a shares again, and writes what it saw meanwhile
    assert b_first < NOW + 1
    assert a.shared
    assert kv.state().paused_until == pytest.approx(NOW + 5.0)


# ---------------------------------------------------------------------- real nats-server

RATE = 20.0
BURST = 2


def shared(nc: Client, n: int, **kw: Any) -> list[SharedBudget]:
    async def open_bucket() -> Any:
        return await nc.jetstream().key_value(KV_BUDGETS)

    options: dict[str, Any] = {"rate": RATE, "burst": BURST, "replicas": n} | kw
    return [SharedBudget(open_bucket=open_bucket, key="jira.dc1", **options) for _ in range(n)]


async def drive(replicas: list[SharedBudget], seconds: float, workers: int = 3) -> list[float]:
    """Fake calls, ``workers`` at once per replica, until ``seconds`` are over; their times."""
    times: list[float] = []
    deadline = time.monotonic() + seconds

    async def worker(budget: SharedBudget) -> None:
        while time.monotonic() < deadline:
            await budget.acquire("call")
            times.append(time.monotonic())

    async with asyncio.timeout(seconds + 10):
        await asyncio.gather(*(worker(b) for b in replicas for _ in range(workers)))
    return times


async def test_three_replicas_on_one_key_never_exceed_the_budget_together(nc: Client) -> None:
    replicas = shared(nc, 3)
    start = time.monotonic()
    times = await drive(replicas, 2.0)
    elapsed = max(times) - start
    assert len(times) <= RATE * elapsed + BURST
    assert len(times) >= RATE * elapsed * 0.5  # shared, not a third each or starved
    assert all(r.shared for r in replicas)


async def test_a_429_pause_one_replica_records_holds_the_other_replicas(nc: Client) -> None:
    a, b, c = shared(nc, 3, rate=10.0, burst=1)
    await asyncio.gather(a.acquire("x"), b.acquire("x"), c.acquire("x"))
    a.pause(1.0)
    a.throttled()
    await a.flush()
    until = a.paused_until
    returned: list[float] = []

    async def call(budget: SharedBudget) -> None:
        await budget.acquire("x")
        returned.append(time.time())

    async with asyncio.timeout(10):
        await asyncio.gather(call(b), call(c))
    assert min(returned) >= until
    # Halved for all (then climbing back at 1/3 per second).
    assert max(b.rate, c.rate) < 6.0


async def test_with_nats_stopped_the_replicas_take_their_split(
    nc: Client, nats_server: NatsServer
) -> None:
    nats_server.stop()
    replicas = shared(nc, 3, rate=30.0, burst=3, kv_timeout=0.2)
    start = time.monotonic()
    times = await drive(replicas, 1.5)
    elapsed = max(times) - start
    assert not any(r.shared for r in replicas)
    assert len(times) <= 30.0 * elapsed + 3
    assert len(times) >= 30.0 * (elapsed - 0.5) * 0.5
