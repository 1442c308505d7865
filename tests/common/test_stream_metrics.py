"""The JetStream backlog gauges against a real nats-server: the DLQ's depth, a durable
consumer's lag and ack-pending messages; ephemeral consumers are left out; a consumer deleted
loses its series."""

from __future__ import annotations

from nats.aio.client import Client
from nats.js.api import ConsumerConfig
from pdjira_common import streams
from pdjira_common.stream_metrics import StreamGauges
from pdjira_common.streams import ensure_topology
from prometheus_client import CollectorRegistry


async def test_dlq_depth_and_consumer_lag(nc: Client) -> None:
    js = nc.jetstream()
    await ensure_topology(js)
    for i in range(3):
        await js.publish(f"commands.jira.dc1.P{i}", b"{}", stream=streams.COMMANDS)
    await js.publish("dlq.COMMANDS.jira-writer", b"{}", stream=streams.DLQ)
    await js.add_consumer(
        streams.COMMANDS, ConsumerConfig(durable_name="jira-writer-test", filter_subject=">")
    )
    sub = await js.pull_subscribe_bind("jira-writer-test", stream=streams.COMMANDS)
    taken = await sub.fetch(1, timeout=5)  # one delivered, not acked
    assert len(taken) == 1
    # An ephemeral consumer (as the CLI's): no durable name.
    await js.add_consumer(streams.EVENTS, ConsumerConfig(inactive_threshold=60.0))

    registry = CollectorRegistry()
    gauges = StreamGauges(registry)
    await gauges.refresh(js)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("pdjira_jetstream_stream_messages", stream="DLQ") == 1.0
    assert value("pdjira_jetstream_stream_messages", stream="COMMANDS") == 3.0
    consumer = {"stream": "COMMANDS", "consumer": "jira-writer-test"}
    assert value("pdjira_jetstream_consumer_pending_messages", **consumer) == 2.0
    assert value("pdjira_jetstream_consumer_ack_pending_messages", **consumer) == 1.0
    consumers = {
        s.labels["consumer"]
        for family in registry.collect()
        if family.name == "pdjira_jetstream_consumer_pending_messages"
        for s in family.samples
    }
    assert consumers == {"jira-writer-test"}  # the ephemeral consumer is not reported
    assert (value("pdjira_jetstream_metrics_refreshed_timestamp_seconds") or 0) > 0

    await js.delete_consumer(streams.COMMANDS, "jira-writer-test")
    await gauges.refresh(js)
    assert value("pdjira_jetstream_consumer_pending_messages", **consumer) is None
