"""The shared retry policy against a real nats-server: delayed, bounded, then dead-lettered."""

from __future__ import annotations

import asyncio
import itertools
import random
import time

import msgspec
import pytest
from faststream.nats import JStream, PullSub
from faststream.nats.annotations import NatsMessage
from nats.aio.client import Client
from nats.js.api import ConsumerConfig
from pdjira_common import streams
from pdjira_common.bus import Retryable, make_broker, nats_client, retry_delay
from pdjira_common.config import RetrySettings
from pdjira_common.contracts import DeadLetter
from pdjira_common.subjects import unpartitioned
from pdjira_devstack.waiting import wait_drained, wait_until

SETTINGS = RetrySettings(base_delay=0.2, max_delay=1.0, max_attempts=3, ack_wait=5.0)


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 10])
def test_retry_delay_grows_and_is_capped(attempt: int) -> None:
    rng = random.Random(attempt)
    delay = retry_delay(attempt, SETTINGS, rng)
    ceiling = min(SETTINGS.max_delay, SETTINGS.base_delay * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling


async def _run_consumer(
    nc: Client, url: str, handler_calls: list[float], fail_times: int, *, done: int
) -> None:
    """Consume until the handler ran ``done`` times and the consumer has nothing left."""
    broker = make_broker(url, consumer="test-consumer", retry=SETTINGS)

    @broker.subscriber(
        "commands.jira.*.test.>",
        stream=JStream(streams.COMMANDS, declare=False),
        durable="test-consumer",
        pull_sub=PullSub(batch_size=1, timeout=0.5),
        config=ConsumerConfig(ack_wait=SETTINGS.ack_wait),
    )
    async def handle(msg: NatsMessage) -> None:
        handler_calls.append(time.monotonic())
        if len(handler_calls) <= fail_times:
            raise Retryable("vendor answered 503")

    async def ran_enough() -> bool:
        return len(handler_calls) >= done

    async with broker:
        await broker.start()
        await wait_until(ran_enough, timeout=10, what=f"{done} handler calls", interval=0.05)
        await wait_drained(nc.jetstream(), timeout=10, consumers=["test-consumer"])


async def test_transient_failure_is_retried_with_delay_then_succeeds(
    nc: Client, nats_server
) -> None:
    js = nc.jetstream()
    await js.publish("commands.jira.test.e1", b"{}", headers={"Nats-Msg-Id": "e1"})
    calls: list[float] = []
    await _run_consumer(nc, nats_server.url, calls, fail_times=2, done=3)
    assert len(calls) == 3
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert all(gap >= 0.09 for gap in gaps), gaps  # delayed, not an immediate redelivery
    info = await js.stream_info(streams.DLQ)
    assert info.state.messages == 0
    assert (await js.stream_info(streams.COMMANDS)).state.messages == 0  # acked: removed


async def test_exhausted_retries_end_in_dlq_with_reason(nc: Client, nats_server) -> None:
    js = nc.jetstream()
    await js.publish("commands.jira.test.e2", b'{"poison": true}', headers={"Nats-Msg-Id": "e2"})
    calls: list[float] = []
    await _run_consumer(nc, nats_server.url, calls, fail_times=100, done=SETTINGS.max_attempts)
    assert len(calls) == SETTINGS.max_attempts
    sub = await js.pull_subscribe("dlq.>", durable="inspect", stream=streams.DLQ)
    [msg] = await sub.fetch(1, timeout=2)
    letter = msgspec.json.decode(msg.data, type=DeadLetter)
    assert letter.reason == "vendor answered 503"
    assert letter.attempts == SETTINGS.max_attempts
    assert letter.data == b'{"poison": true}'
    assert unpartitioned(letter.subject) == "commands.jira.test.e2"
    assert (await js.stream_info(streams.COMMANDS)).state.messages == 0


class Ping(msgspec.Struct, frozen=True, kw_only=True):
    name: str


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"name": 5}', "Expected `str`"),  # JSON, but not the handler's type
        (b"\xff\xfenot json", "does not decode as the handler's type"),  # not JSON at all
    ],
)
async def test_body_that_is_not_the_handlers_type_is_dead_lettered_at_once(
    nc: Client, nats_server, body: bytes, why: str
) -> None:
    js = nc.jetstream()
    calls: list[Ping] = []
    broker = make_broker(nats_server.url, consumer="typed", retry=SETTINGS)

    @broker.subscriber(
        "commands.jira.*.typed.>",
        stream=JStream(streams.COMMANDS, declare=False),
        durable="typed",
        pull_sub=PullSub(batch_size=1, timeout=0.5),
        config=ConsumerConfig(ack_wait=SETTINGS.ack_wait),
    )
    async def handle(ping: Ping) -> None:
        calls.append(ping)

    dlq = await js.pull_subscribe("dlq.>", durable="inspect", stream=streams.DLQ)
    async with broker:
        await broker.start()
        await js.publish("commands.jira.typed.bad", body, headers={"Nats-Msg-Id": "bad"})
        await js.publish(
            "commands.jira.typed.good", b'{"name": "ok"}', headers={"Nats-Msg-Id": "good"}
        )
        [msg] = await dlq.fetch(1, timeout=5)
        letter = msgspec.json.decode(msg.data, type=DeadLetter)
        await wait_drained(js, timeout=5, consumers=["typed"])
    assert letter.attempts == 1  # at once: retrying cannot help
    assert why in letter.reason
    assert letter.data == body
    assert calls == [Ping(name="ok")]  # the next message was not held up


async def test_a_broker_stopped_while_nats_is_gone_leaves_no_reconnect_loop(nats_server) -> None:
    broker = make_broker(nats_server.url, consumer="gone", retry=SETTINGS)
    await broker.connect()
    client = nats_client(broker)
    nats_server.stop()

    async def reconnecting() -> bool:
        return bool(client.is_reconnecting)

    await wait_until(reconnecting, timeout=10, what="the client reconnecting")
    await broker.stop()  # nothing to drain: no error, the client closed
    assert client.is_closed
    left = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not [t for t in left if "reconnect" in t.get_coro().__qualname__.lower()], left
