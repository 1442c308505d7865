"""Per-entity lanes on a real nats-server: entities overlap, one entity is strictly ordered
(across an in-place retry too), prerequisites may be overtaken by their create, poison ends in
the DLQ."""

from __future__ import annotations

import asyncio
import itertools
import time

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common import streams
from pdjira_common.bus import Retryable, WaitForPrerequisite
from pdjira_common.config import RetrySettings
from pdjira_common.contracts import DeadLetter
from pdjira_common.lanes import LaneDispatcher, entity_of


async def wait_until(probe: object, *, timeout: float, what: str) -> None:
    async with asyncio.timeout(timeout):
        while not probe():  # type: ignore[operator]
            await asyncio.sleep(0.02)


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
    lanes = LaneDispatcher(
        nc.jetstream(), subject="commands.jira.>", durable="t", handler=handler, retry=RETRY
    )
    await lanes.start()
    try:
        await wait_until(lambda: len(spans) == 5, timeout=10, what="all five handled")
    finally:
        await lanes.stop()

    a = [s for s in spans if s[0] == "dc1.A"]
    b = [s for s in spans if s[0] == "dc1.B"]
    assert [s[1] for s in a] == ["A1", "A2", "A3"]
    assert [s[1] for s in b] == ["B1", "B2"]
    for earlier, later in itertools.pairwise(a):
        assert earlier[3] <= later[2], "one entity's commands never overlap"
    # A and B ran at the same time (B did not wait for A's retry).
    assert b[0][2] < a[0][3]
    assert b[-1][3] < a[-1][2]
    info = await nc.jetstream().consumer_info(streams.COMMANDS, "t")
    assert info.num_ack_pending == 0
    assert info.num_pending == 0


async def test_a_waiting_command_lets_its_create_go_first(nc: Client) -> None:
    done: list[str] = []

    async def handler(msg: Msg) -> None:
        body = msg.data.decode()
        if body == "move" and "create" not in done:
            raise WaitForPrerequisite("no issue yet")
        done.append(body)

    await publish(nc, "A", "move")
    await publish(nc, "A", "create")
    lanes = LaneDispatcher(
        nc.jetstream(),
        subject="commands.jira.>",
        durable="t",
        handler=handler,
        retry=RETRY,
        may_overtake=lambda m: m.data == b"create",
    )
    await lanes.start()
    try:
        await wait_until(lambda: len(done) == 2, timeout=10, what="both applied")
    finally:
        await lanes.stop()
    assert done == ["create", "move"]


async def test_poison_goes_to_the_dlq_after_the_bound_and_the_lane_moves_on(nc: Client) -> None:
    done: list[str] = []

    async def handler(msg: Msg) -> None:
        if msg.data == b"poison":
            raise RuntimeError("boom")
        done.append(msg.data.decode())

    await publish(nc, "A", "poison")
    await publish(nc, "A", "next")
    lanes = LaneDispatcher(
        nc.jetstream(), subject="commands.jira.>", durable="t", handler=handler, retry=RETRY
    )
    await lanes.start()
    try:
        await wait_until(lambda: done == ["next"], timeout=10, what="the next command")
    finally:
        await lanes.stop()
    raw = await nc.jetstream().get_last_msg(streams.DLQ, "dlq.COMMANDS.t")
    letter = msgspec.json.decode(raw.data or b"", type=DeadLetter)
    assert letter.attempts == RETRY.max_attempts
    assert letter.reason == "RuntimeError: boom"
    assert letter.data == b"poison"
    assert letter.subject == "commands.jira.dc1.A"
