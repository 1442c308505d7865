"""The lanes and a broker's subscribers count what becomes of a failed message by consumer:
retried (``error``: backoff; ``wait``: a missing prerequisite) or dead-lettered. Against a real
nats-server."""

from __future__ import annotations

from faststream.nats import JStream, PullSub
from faststream.nats.annotations import NatsMessage
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig
from pdjira_common import streams
from pdjira_common.bus import make_broker
from pdjira_common.config import RetrySettings
from pdjira_common.delivery_metrics import DeliveryMetrics
from pdjira_common.lanes import LaneDispatcher
from pdjira_common.retry import PermanentFailure, Retryable, WaitForPrerequisite
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_drained, wait_until
from prometheus_client import CollectorRegistry

RETRY = RetrySettings(base_delay=0.05, max_delay=0.1, max_attempts=3, ack_wait=2.0)


async def test_retries_and_dead_letters_are_counted_by_consumer(nc: Client) -> None:
    failed: set[bytes] = set()

    async def handler(msg: Msg) -> None:
        if msg.data == b"refused":
            raise PermanentFailure("the vendor said no")
        if msg.data not in failed:  # each other message fails once, then passes
            failed.add(msg.data)
            if msg.data == b"flaky":
                raise Retryable("vendor answered 503")
            raise WaitForPrerequisite("no issue is linked yet")

    js = nc.jetstream()
    for entity, data in (("A", b"flaky"), ("B", b"waits"), ("C", b"refused")):
        await js.publish(f"commands.jira.dc1.{entity}", data)
    registry = CollectorRegistry()
    lanes = LaneDispatcher(
        js,
        subject="commands.jira.>",
        durable="t",
        handler=handler,
        retry=RETRY,
        owner="jira-writer",
        metrics=DeliveryMetrics(registry),
    )
    await lanes.start()
    try:
        await wait_drained(js, timeout=10, consumers=["t"])
    finally:
        await lanes.stop()

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("pdjira_retries_total", consumer="jira-writer", kind="error") == 1.0
    assert value("pdjira_retries_total", consumer="jira-writer", kind="wait") == 1.0
    assert value("pdjira_dead_letters_total", consumer="jira-writer") == 1.0


async def test_a_brokers_subscriber_counts_its_retries_and_dead_letters(
    nc: Client, nats_server: NatsServer
) -> None:
    """The retry middleware of ``make_broker`` (mapping's subscribers): the same counters."""
    registry = CollectorRegistry()
    broker = make_broker(
        nats_server.url, consumer="mapping", retry=RETRY, delivery=DeliveryMetrics(registry)
    )
    calls: list[bytes] = []

    @broker.subscriber(
        "commands.jira.*.test.>",
        stream=JStream(streams.COMMANDS, declare=False),
        durable="test-consumer",
        pull_sub=PullSub(batch_size=1, timeout=0.5),
        config=ConsumerConfig(ack_wait=RETRY.ack_wait),
    )
    async def handle(msg: NatsMessage) -> None:
        calls.append(msg.body)
        raise Retryable("vendor answered 503")  # every time: dead-lettered after 3 attempts

    async def dead() -> bool:
        return registry.get_sample_value("pdjira_dead_letters_total", {"consumer": "mapping"}) == 1

    js = nc.jetstream()
    await js.publish("commands.jira.test.e1", b"{}", headers={"Nats-Msg-Id": "e1"})
    async with broker:
        await broker.start()
        await wait_until(dead, timeout=10, what="the dead letter counted", interval=0.05)
    assert len(calls) == RETRY.max_attempts
    retries = {"consumer": "mapping", "kind": "error"}
    assert registry.get_sample_value("pdjira_retries_total", retries) == RETRY.max_attempts - 1
