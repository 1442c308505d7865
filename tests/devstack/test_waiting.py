"""The quiet signal the end-to-end tests wait on, against a real nats-server and real in-process
simulators: each thing that can still be in flight keeps it busy, and it returns once nothing
is. ``wait_until``, the one polling helper, too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import Reading, SimulatorState, wait_drained, wait_until
from pdjira_simulators.jira import JiraSettings
from pdjira_simulators.jira import create_app as create_jira
from pdjira_simulators.pagerduty import PagerDutySettings
from pdjira_simulators.pagerduty import create_app as create_pd
from pdjira_simulators.testing import running_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SHORT = 0.5  # how long a wait that must time out is given


# ------------------------------------------------------------------------------ wait_until


async def test_wait_until_returns_the_first_truthy_value() -> None:
    answers = iter([None, [], "found"])

    async def probe() -> str | None:
        return next(answers) or None

    assert await wait_until(probe, timeout=5, what="an answer", interval=0.01) == "found"


async def test_wait_until_says_what_it_waited_for() -> None:
    async def never() -> None:
        return None

    with pytest.raises(TimeoutError, match=r"after 0.05s waiting for the moon"):
        await wait_until(never, timeout=0.05, what="the moon", interval=0.01)


# ------------------------------------------------------------------------------ the bus


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="WORK", subjects=["work.>"]))
    await js.add_stream(StreamConfig(name="NOTES", subjects=["notes.>"]))
    try:
        yield js
    finally:
        await nc.close()


async def test_an_idle_bus_is_drained(js: JetStreamContext) -> None:
    await js.publish("notes.a", b"no consumer reads this stream")
    await wait_drained(js, timeout=5)


async def test_a_message_not_yet_delivered_keeps_its_consumer_busy(js: JetStreamContext) -> None:
    sub = await js.pull_subscribe("work.>", durable="worker", stream="WORK")
    await js.publish("work.1", b"job")
    with pytest.raises(TimeoutError, match=r"WORK/worker: 1 pending, 0 unacked"):
        await wait_drained(js, timeout=SHORT)
    [msg] = await sub.fetch(1, timeout=5)
    await msg.ack_sync()
    await wait_drained(js, timeout=5)


async def test_an_unacked_message_keeps_its_consumer_busy_until_acked(
    js: JetStreamContext,
) -> None:
    sub = await js.pull_subscribe("work.>", durable="worker", stream="WORK")
    await js.publish("work.1", b"job")
    [msg] = await sub.fetch(1, timeout=5)  # delivered, being worked on
    with pytest.raises(TimeoutError, match=r"WORK/worker: 0 pending, 1 unacked"):
        await wait_drained(js, timeout=SHORT)
    await msg.ack_sync()
    await wait_drained(js, timeout=5)


async def test_only_the_named_consumers_count(js: JetStreamContext) -> None:
    await js.pull_subscribe("work.>", durable="worker", stream="WORK")
    await js.pull_subscribe("notes.>", durable="reader", stream="NOTES")
    await js.publish("work.1", b"job")
    await wait_drained(js, timeout=5, consumers=["reader"])
    with pytest.raises(TimeoutError, match="WORK/worker"):
        await wait_drained(js, timeout=SHORT, consumers=["worker"])


async def test_a_stream_that_keeps_growing_is_not_quiet(js: JetStreamContext) -> None:
    """No consumer is busy, but something keeps publishing: the counters keep moving."""
    stop = asyncio.Event()

    async def publisher() -> None:
        while not stop.is_set():
            await js.publish("notes.tick", b"x")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.01)

    task = asyncio.create_task(publisher())
    try:
        with pytest.raises(TimeoutError, match="still moving: stream NOTES"):
            await wait_drained(js, timeout=SHORT)
    finally:
        stop.set()
        await task
    await wait_drained(js, timeout=5)


def test_readings_tell_which_counters_moved() -> None:
    before = Reading(counters={"stream A": (3,), "consumer A/x": (3, 3, 3)})
    after = Reading(counters={"stream A": (4,), "consumer A/x": (3, 3, 3), "stream B": (1,)})
    assert after.moved_since(before) == ["stream A", "stream B"]
    assert after.moved_since(after) == []
    assert Reading().idle
    assert not (Reading() + Reading(("x busy",))).idle


# ------------------------------------------------------------------------------ the simulators


@dataclass
class HeldReceiver:
    """A webhook endpoint that answers only once ``release`` is set."""

    url: str
    release: asyncio.Event
    received: list[bytes]


@pytest.fixture
async def receiver() -> AsyncIterator[HeldReceiver]:
    release = asyncio.Event()
    received: list[bytes] = []

    async def hook(request: Request) -> Response:
        body = await request.body()
        await release.wait()
        received.append(body)
        return Response(status_code=202)

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    async with running_server(app) as base:
        try:
            yield HeldReceiver(f"{base}/hook", release, received)
        finally:
            release.set()  # let the server finish its request and stop


@pytest.fixture
async def sims(receiver: HeldReceiver) -> AsyncIterator[SimulatorState]:
    pd = create_pd(PagerDutySettings(webhook_url=receiver.url, webhook_secrets=("s",)))
    jira = create_jira(JiraSettings(webhook_url=receiver.url, webhook_secret="s"))
    async with (
        running_server(pd) as pd_url,
        running_server(jira) as jira_url,
        httpx.AsyncClient(trust_env=False) as client,
    ):
        yield SimulatorState(client, pd_url, jira_url)


async def test_a_webhook_queued_in_a_simulator_keeps_the_system_busy(
    js: JetStreamContext, sims: SimulatorState, receiver: HeldReceiver
) -> None:
    created = await sims.client.post(f"{sims.pd_url}/_sim/incidents", json={"title": "disk"})
    created.raise_for_status()
    with pytest.raises(TimeoutError, match="pagerduty simulator: 1 webhooks queued"):
        await wait_drained(js, timeout=SHORT, sims=sims)
    receiver.release.set()
    await wait_drained(js, timeout=5, sims=sims)
    assert len(receiver.received) == 1
    activity = await sims.webhook_activity(sims.pd_url)
    assert activity == {"queued": 0, "submitted": 1, "attempts": 1, "held": 0}


class _WriterBetweenTheReads(SimulatorState):
    """Plays a writer that, exactly between the read of the simulators and the read of the bus,
    makes its Jira call (which queues a webhook) and acks its command. Releases the receiver
    once a reading has seen that webhook queued."""

    def __init__(self, base: SimulatorState, msg: nats.aio.msg.Msg, release: asyncio.Event):
        super().__init__(base.client, base.pd_url, base.jira_url)
        self.msg: nats.aio.msg.Msg | None = msg
        self.release = release

    async def webhook_activity(self, base_url: str) -> dict[str, int]:
        activity = await super().webhook_activity(base_url)
        if base_url == self.jira_url:
            if activity["queued"]:
                self.release.set()
            if self.msg is not None:
                created = await self.client.post(
                    f"{self.jira_url}/_sim/issues", json={"summary": "from the command"}
                )
                created.raise_for_status()
                await self.msg.ack_sync()
                self.msg = None
        return activity


async def test_work_moving_from_the_bus_to_a_simulator_between_the_reads_is_seen(
    js: JetStreamContext, sims: SimulatorState, receiver: HeldReceiver
) -> None:
    sub = await js.pull_subscribe("work.>", durable="writer", stream="WORK")
    await js.publish("work.create", b"command")
    [msg] = await sub.fetch(1, timeout=5)
    # The first reading sees the simulators idle, then the consumer idle: one idle reading
    # alone would call the system quiet with the webhook still queued.
    await wait_drained(js, timeout=10, sims=_WriterBetweenTheReads(sims, msg, receiver.release))
    assert receiver.release.is_set(), "the queued webhook was never seen"
    assert len(receiver.received) == 1
    assert (await sims.webhook_activity(sims.jira_url))["queued"] == 0


async def test_held_back_webhooks_are_counted_not_waited_for(
    js: JetStreamContext, sims: SimulatorState, receiver: HeldReceiver
) -> None:
    """A webhook the reorder fault holds back waits for a later one by design: not in flight."""
    faults = await sims.client.put(f"{sims.jira_url}/_sim/webhook-faults", json={"reorder_rate": 1})
    faults.raise_for_status()
    created = await sims.client.post(f"{sims.jira_url}/_sim/issues", json={"summary": "held"})
    created.raise_for_status()
    await wait_drained(js, timeout=5, sims=sims)
    activity = await sims.webhook_activity(sims.jira_url)
    assert activity == {"queued": 0, "submitted": 1, "attempts": 0, "held": 1}
    assert receiver.received == []
