"""Per-entity lanes on a real nats-server: entities overlap, one entity is strictly ordered
(across an in-place retry too), prerequisites may be overtaken by their create, poison ends in
the DLQ, a lone command is taken at once and stop() does not wait out a pull request."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import structlog
import structlog.testing
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common import streams
from pdjira_common.bus import Retryable, Unprocessable, WaitForPrerequisite
from pdjira_common.config import RetrySettings
from pdjira_common.contracts import DeadLetter
from pdjira_common.lanes import LaneDispatcher, entity_of
from pdjira_common.subjects import unpartitioned
from pdjira_devstack.waiting import wait_drained, wait_until


def settled(condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """``condition`` as the async probe ``wait_until`` polls."""

    async def probe() -> bool:
        return condition()

    return probe


@asynccontextmanager
async def running(
    nc: Client, handler: Callable[[Msg], Awaitable[None]], **options: Any
) -> AsyncIterator[LaneDispatcher]:
    """A dispatcher of ``commands.jira.>`` on durable ``t``, stopped at the end."""
    options.setdefault("retry", RETRY)
    lanes = LaneDispatcher(
        nc.jetstream(), subject="commands.jira.>", durable="t", handler=handler, **options
    )
    await lanes.start()
    try:
        yield lanes
    finally:
        await lanes.stop()


RETRY = RetrySettings(base_delay=0.2, max_delay=0.4, max_attempts=3, ack_wait=2.0)


async def publish(nc: Client, entity: str, body: str) -> None:
    await nc.jetstream().publish(f"commands.jira.dc1.{entity}", body.encode())


def test_entity_is_the_subject_after_the_system() -> None:
    assert entity_of("commands.jira.dc1.Q123") == "dc1.Q123"
    assert entity_of("commands.pd.acme.PABC") == "acme.PABC"


async def test_entities_overlap_and_one_entity_stays_in_order_across_a_retry(nc: Client) -> None:
    spans: list[tuple[str, str, float, float]] = []
    failed_once: set[str] = set()

    async def handler(msg: Msg) -> None:
        body = msg.data.decode()
        start = time.monotonic()
        await asyncio.sleep(0.15)
        if body == "A1" and body not in failed_once:
            failed_once.add(body)
            raise Retryable("Jira answered 503")  # retried in place: A2 must wait for it
        spans.append((entity_of(msg.subject), body, start, time.monotonic()))

    for body in ("A1", "A2", "A3"):
        await publish(nc, "A", body)
    for body in ("B1", "B2"):
        await publish(nc, "B", body)
    async with running(nc, handler):
        await wait_until(settled(lambda: len(spans) == 5), timeout=10, what="all five handled")

    a = [s for s in spans if s[0] == "dc1.A"]
    b = [s for s in spans if s[0] == "dc1.B"]
    assert [s[1] for s in a] == ["A1", "A2", "A3"]
    assert [s[1] for s in b] == ["B1", "B2"]
    for earlier, later in itertools.pairwise(a):
        assert earlier[3] <= later[2], "one entity's commands never overlap"
    # A and B ran at the same time (B did not wait for A's retry).
    assert b[0][2] < a[0][3]
    assert b[-1][3] < a[-1][2]
    # Every command acked (the server applies acks on its own time: wait, do not sample).
    await wait_drained(nc.jetstream(), timeout=5, consumers=["t"])


async def test_a_waiting_command_lets_its_create_go_first(nc: Client) -> None:
    done: list[str] = []

    async def handler(msg: Msg) -> None:
        body = msg.data.decode()
        if body == "move" and "create" not in done:
            raise WaitForPrerequisite("no issue yet")
        done.append(body)

    await publish(nc, "A", "move")
    await publish(nc, "A", "create")
    async with running(nc, handler, may_overtake=lambda m: m.data == b"create"):
        await wait_until(settled(lambda: len(done) == 2), timeout=10, what="both applied")
    assert done == ["create", "move"]


async def test_poison_goes_to_the_dlq_after_the_bound_and_the_lane_moves_on(nc: Client) -> None:
    done: list[str] = []

    async def handler(msg: Msg) -> None:
        if msg.data == b"poison":
            raise RuntimeError("boom")
        done.append(msg.data.decode())

    await publish(nc, "A", "poison")
    await publish(nc, "A", "next")
    async with running(nc, handler):
        await wait_until(settled(lambda: done == ["next"]), timeout=10, what="the next command")
    raw = await nc.jetstream().get_last_msg(streams.DLQ, "dlq.COMMANDS.t")
    letter = msgspec.json.decode(raw.data or b"", type=DeadLetter)
    assert letter.attempts == RETRY.max_attempts
    assert letter.reason == "RuntimeError: boom"
    assert letter.data == b"poison"
    assert unpartitioned(letter.subject) == "commands.jira.dc1.A"


async def dead_letter(nc: Client, durable: str = "t") -> DeadLetter:
    raw = await nc.jetstream().get_last_msg(streams.DLQ, f"dlq.COMMANDS.{durable}")
    return msgspec.json.decode(raw.data or b"", type=DeadLetter)


async def test_unprocessable_is_dead_lettered_at_once_and_the_lane_moves_on(nc: Client) -> None:
    calls: list[bytes] = []

    async def handler(msg: Msg) -> None:
        calls.append(msg.data)
        if msg.data == b"garbage":
            raise Unprocessable("cannot decode the command")

    await publish(nc, "A", "garbage")
    await publish(nc, "A", "next")
    async with running(nc, handler):
        await wait_drained(nc.jetstream(), timeout=10, consumers=["t"])
    assert calls == [b"garbage", b"next"]  # tried once, never again
    letter = await dead_letter(nc)
    assert letter.attempts == 1
    assert letter.reason == "cannot decode the command"


async def test_a_prerequisite_that_never_comes_ends_in_the_dlq_after_its_own_bound(
    nc: Client,
) -> None:
    waits: list[float] = []
    retry = RetrySettings(max_attempts=2, prerequisite_max_attempts=3, ack_wait=2.0)

    async def handler(msg: Msg) -> None:
        waits.append(time.monotonic())
        raise WaitForPrerequisite("no issue is linked yet")

    await publish(nc, "A", "move")
    async with running(nc, handler, retry=retry):
        await wait_drained(nc.jetstream(), timeout=10, consumers=["t"])
    # Waiting is not failing: three looks (more than max_attempts), one wait apart.
    assert len(waits) == 3
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(waits))
    letter = await dead_letter(nc)
    assert letter.reason == "no issue is linked yet"
    assert letter.attempts == 1


async def test_a_lone_command_is_taken_at_once_and_stop_does_not_wait_out_the_fetch(
    nc: Client,
) -> None:
    done = asyncio.Event()

    async def handler(msg: Msg) -> None:
        done.set()

    async with running(nc, handler):
        sent = time.monotonic()
        await publish(nc, "A", "only one")
        await asyncio.wait_for(done.wait(), timeout=5)
        # Not held back until a pull request for a whole batch expires.
        assert time.monotonic() - sent < 0.5
        await wait_drained(nc.jetstream(), timeout=5, consumers=["t"])
        # The dispatcher now waits in a pull request: leaving stops it, and cancels that.
        leaving = time.monotonic()
    assert time.monotonic() - leaving < 0.5


async def test_a_redelivery_of_a_held_command_does_not_run_it_twice(nc: Client) -> None:
    calls: list[bytes] = []

    async def handler(msg: Msg) -> None:
        calls.append(msg.data)
        if len(calls) == 1:
            # The loop stalls past the ack wait (no in-progress beat goes out), so the server
            # redelivers the command the lane still holds.
            time.sleep(1.5)  # noqa: ASYNC251 - blocking on purpose

    await publish(nc, "A", "slow")
    retry = RetrySettings(base_delay=0.2, max_delay=0.4, max_attempts=3, ack_wait=0.6)
    async with running(nc, handler, retry=retry):
        await wait_drained(nc.jetstream(), timeout=10, consumers=["t"])
    assert calls == [b"slow"]


async def test_commands_queued_behind_a_slow_head_are_kept_alive_not_redelivered(
    nc: Client,
) -> None:
    done: list[bytes] = []

    async def handler(msg: Msg) -> None:
        if msg.data == b"slow":
            await asyncio.sleep(2.0)  # more than three ack waits, the loop free to beat
        done.append(msg.data)

    await publish(nc, "A", "slow")
    for n in range(3):
        await publish(nc, "A", f"queued {n}")
    retry = RetrySettings(base_delay=0.2, max_delay=0.4, max_attempts=3, ack_wait=0.6)
    with structlog.testing.capture_logs() as logs:
        async with running(nc, handler, retry=retry):
            await wait_until(settled(lambda: len(done) == 4), timeout=10, what="all applied")
            await wait_drained(nc.jetstream(), timeout=5, consumers=["t"])
    assert done == [b"slow", b"queued 0", b"queued 1", b"queued 2"]
    redelivered = [e for e in logs if e["event"] == "redelivery_dropped"]
    assert redelivered == [], "a queued command reached its ack wait and came back"
