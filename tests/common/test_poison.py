"""Poison messages on a real nats-server: a message that killed its handler on every delivery
(so no failure was ever counted) ends in the DLQ without running; a handler that hangs is cut
off; every durable has a bounded ``max_deliver``; a failing entity does not delay another."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
import pytest
from faststream.nats import JStream, PullSub
from faststream.nats.annotations import NatsMessage
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig
from pdjira_common import lanes, streams
from pdjira_common.bus import make_broker
from pdjira_common.config import RetrySettings
from pdjira_common.consumers import (
    LANE_MAX_DELIVER,
    LANE_POISON_DELIVERIES,
    subscriber_max_deliver,
    subscriber_poison_deliveries,
    update_consumer,
)
from pdjira_common.contracts import DeadLetter
from pdjira_common.lanes import LaneDispatcher
from pdjira_common.subjects import unpartitioned

RETRY = RetrySettings(base_delay=0.2, max_delay=0.4, max_attempts=3, ack_wait=2.0)


async def died_on_it(nc: Client, durable: str, subject: str, times: int) -> None:
    """``times`` deliveries of the one message on ``durable`` that never finished (what a
    crash or a hang leaves: the server delivers it again; a nak is the quick way there)."""
    sub = await nc.jetstream().pull_subscribe(
        subject, durable=durable, stream=streams.COMMANDS, config=ConsumerConfig(ack_wait=2.0)
    )
    for _ in range(times):
        [msg] = await sub.fetch(1, timeout=5)
        await msg.nak()
    await sub.unsubscribe()


async def next_letter(nc: Client, durable: str) -> DeadLetter:
    sub = await nc.jetstream().pull_subscribe(
        f"dlq.COMMANDS.{durable}", durable=f"inspect-{durable}", stream=streams.DLQ
    )
    [raw] = await sub.fetch(1, timeout=10)
    return msgspec.json.decode(raw.data, type=DeadLetter)


@asynccontextmanager
async def dispatching(
    nc: Client, handler: lanes.Handler, retry: RetrySettings = RETRY
) -> AsyncIterator[LaneDispatcher]:
    dispatcher = LaneDispatcher(
        nc.jetstream(), subject="commands.jira.>", durable="t", handler=handler, retry=retry
    )
    await dispatcher.start()
    try:
        yield dispatcher
    finally:
        await dispatcher.stop()


def test_thresholds_leave_room_for_restarts_and_the_retry_policy() -> None:
    assert LANE_POISON_DELIVERIES < LANE_MAX_DELIVER
    settings = RetrySettings()
    assert subscriber_poison_deliveries(settings) > settings.prerequisite_max_attempts
    assert subscriber_poison_deliveries(settings) > settings.max_attempts
    assert subscriber_poison_deliveries(settings) < subscriber_max_deliver(settings)


async def test_lanes_dead_letter_a_message_that_killed_the_handler_each_time(nc: Client) -> None:
    await nc.jetstream().publish("commands.jira.dc1.POISON", b"kills the writer")
    await died_on_it(nc, "t", "commands.jira.>", LANE_POISON_DELIVERIES)
    ran: list[bytes] = []

    async def handler(msg: Msg) -> None:
        ran.append(msg.data)

    async with dispatching(nc, handler):
        letter = await next_letter(nc, "t")
        await nc.jetstream().publish("commands.jira.dc1.POISON", b"the next one")
        async with asyncio.timeout(5):
            while not ran:
                await asyncio.sleep(0.02)
    assert ran == [b"the next one"]  # the poison never ran again; the lane moved on
    assert letter.data == b"kills the writer"
    assert letter.attempts == LANE_POISON_DELIVERIES + 1
    assert f"delivered {LANE_POISON_DELIVERIES + 1} times without finishing" in letter.reason
    info = await nc.jetstream().consumer_info(streams.COMMANDS, "t")
    assert info.config.max_deliver == LANE_MAX_DELIVER
    assert info.num_ack_pending == 0


async def test_a_message_redelivered_by_a_few_restarts_still_runs(nc: Client) -> None:
    await nc.jetstream().publish("commands.jira.dc1.Q1", b"waited through deploys")
    await died_on_it(nc, "t", "commands.jira.>", LANE_POISON_DELIVERIES - 1)
    ran: list[bytes] = []

    async def handler(msg: Msg) -> None:
        ran.append(msg.data)

    async with dispatching(nc, handler):
        async with asyncio.timeout(5):
            while not ran:
                await asyncio.sleep(0.02)
    assert ran == [b"waited through deploys"]


async def test_a_handler_that_hangs_is_cut_off_and_dead_lettered(
    nc: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lanes, "handler_timeout", lambda _retry: 0.5)
    ran: list[bytes] = []

    async def handler(msg: Msg) -> None:
        if msg.data == b"hangs":
            await asyncio.Event().wait()
        ran.append(msg.data)

    async with dispatching(nc, handler):
        await nc.jetstream().publish("commands.jira.dc1.H1", b"hangs")
        await nc.jetstream().publish("commands.jira.dc1.H1", b"behind it")
        letter = await next_letter(nc, "t")
        async with asyncio.timeout(5):
            while not ran:
                await asyncio.sleep(0.02)
    assert letter.data == b"hangs"
    assert letter.attempts == 1
    assert "did not finish within 0.5 s" in letter.reason
    assert ran == [b"behind it"]


async def test_a_handlers_own_timeout_is_an_ordinary_retry(nc: Client) -> None:
    calls: list[bytes] = []

    async def handler(msg: Msg) -> None:
        calls.append(msg.data)
        if len(calls) == 1:
            raise TimeoutError("the vendor did not answer")

    async with dispatching(nc, handler):
        await nc.jetstream().publish("commands.jira.dc1.T1", b"slow vendor")
        async with asyncio.timeout(5):
            while len(calls) < 2:
                await asyncio.sleep(0.02)
    assert calls == [b"slow vendor", b"slow vendor"]


async def test_a_failing_entity_does_not_delay_another(nc: Client) -> None:
    # The Jira `timestamp: 1e18` case: one entity's handler raises on every try, with retry
    # delays; another entity's message, published after it, is handled at once meanwhile.
    retry = RetrySettings(base_delay=2.0, max_delay=4.0, max_attempts=5, ack_wait=2.0)
    tries: list[float] = []
    handled: dict[str, float] = {}

    async def handler(msg: Msg) -> None:
        if msg.subject.endswith(".A"):
            tries.append(time.monotonic())
            raise ValueError("year 31690708 is out of range")
        handled[unpartitioned(msg.subject)] = time.monotonic()

    async with dispatching(nc, handler, retry):
        await nc.jetstream().publish("commands.jira.dc1.A", b"1e18")
        async with asyncio.timeout(5):
            while not tries:
                await asyncio.sleep(0.01)
        published = time.monotonic()
        await nc.jetstream().publish("commands.jira.dc1.B", b"fine")
        async with asyncio.timeout(5):
            while "commands.jira.dc1.B" not in handled:
                await asyncio.sleep(0.01)
        assert handled["commands.jira.dc1.B"] - published < 1.0
        assert len(tries) == 1  # A is still waiting to retry: B did not wait for it


async def test_update_consumer_bounds_an_existing_durable(nc: Client) -> None:
    js = nc.jetstream()
    await js.add_consumer(
        streams.COMMANDS, ConsumerConfig(durable_name="old", filter_subject="commands.pd.>")
    )
    assert (await js.consumer_info(streams.COMMANDS, "old")).config.max_deliver in (None, -1)
    assert await update_consumer(js, streams.COMMANDS, "old", max_deliver=LANE_MAX_DELIVER)
    assert (await js.consumer_info(streams.COMMANDS, "old")).config.max_deliver == 20
    assert not await update_consumer(js, streams.COMMANDS, "old", max_deliver=LANE_MAX_DELIVER)


async def test_a_subscriber_dead_letters_a_message_that_killed_it_each_time(
    nc: Client, nats_server
) -> None:
    settings = RetrySettings(max_attempts=3, prerequisite_max_attempts=2, ack_wait=2.0)
    threshold = subscriber_poison_deliveries(settings)
    await nc.jetstream().publish("commands.jira.sub.X", b'{"kills": true}')
    await died_on_it(nc, "sub", "commands.jira.*.sub.>", threshold)
    calls: list[bytes] = []
    broker = make_broker(nats_server.url, consumer="sub", retry=settings)

    @broker.subscriber(
        "commands.jira.*.sub.>",
        stream=JStream(streams.COMMANDS, declare=False),
        durable="sub",
        pull_sub=PullSub(batch_size=1, timeout=0.5),
        config=ConsumerConfig(ack_wait=2.0, max_deliver=subscriber_max_deliver(settings)),
    )
    async def handle(msg: NatsMessage) -> None:
        calls.append(msg.body)

    async with broker:
        await broker.start()
        letter = await next_letter(nc, "sub")
    assert calls == []
    assert letter.attempts == threshold + 1
    assert "without finishing: the handler crashed or hung on it" in letter.reason
    assert letter.data == b'{"kills": true}'
