"""JetStream backlog as Prometheus gauges: messages per stream (the DLQ's depth among them) and,
per durable consumer, the messages not yet delivered (its lag) and those delivered but not yet
acked. Read from JetStream every ``interval`` seconds (two API calls per stream: cheap), not
at scrape time: a scrape never waits for NATS.

Labels are bounded: the stream names are ours; consumers are the durable ones (a service's, or
a partition's: bounded by the config), ephemeral ones (the CLI's, ordered consumers) are left
out, and past ``MAX_CONSUMERS`` a consumer is not reported."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry, Gauge

from pdjira_common import streams
from pdjira_common.logging import get_logger

__all__ = ["MAX_CONSUMERS", "REPORTED_STREAMS", "StreamGauges"]

REPORTED_STREAMS = (streams.EVENTS, streams.COMMANDS, streams.OUTCOMES, streams.DLQ)
MAX_CONSUMERS = 200  # series per gauge at most (partitions x services stay far below)

_log = get_logger(__name__)


class StreamGauges:
    """``await gauges.refresh(js)`` once; ``gauges.run(js)`` refreshes until cancelled."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        reported: Iterable[str] = REPORTED_STREAMS,
        interval: float = 15.0,
    ) -> None:
        self.interval = interval
        self._reported = tuple(reported)
        self.messages = Gauge(
            "pdjira_jetstream_stream_messages",
            'Messages stored in a JetStream stream (stream="DLQ": the dead letters waiting '
            "for a replay), as last read from JetStream.",
            ["stream"],
            registry=registry,
        )
        self.pending = Gauge(
            "pdjira_jetstream_consumer_pending_messages",
            "Messages of a durable consumer's stream not yet delivered to it: its lag.",
            ["stream", "consumer"],
            registry=registry,
        )
        self.ack_pending = Gauge(
            "pdjira_jetstream_consumer_ack_pending_messages",
            "Messages delivered to a durable consumer and not yet acked (being handled, or "
            "waiting for a retry).",
            ["stream", "consumer"],
            registry=registry,
        )
        self.last_refresh = Gauge(
            "pdjira_jetstream_metrics_refreshed_timestamp_seconds",
            "When the JetStream gauges were last read (Unix time): an old value means the "
            "gauges are stale (NATS unreachable).",
            registry=registry,
        )
        self._consumers: set[tuple[str, str]] = set()

    async def refresh(self, js: JetStreamContext) -> None:
        """Read every reported stream and its durable consumers; a stream that does not exist
        (yet) is skipped, consumers that went away lose their series."""
        seen: set[tuple[str, str]] = set()
        for stream in self._reported:
            try:
                info = await js.stream_info(stream)
                consumers = await js.consumers_info(stream)
            except Exception as exc:  # NATS away or the stream not declared yet
                _log.debug("stream_metrics_unavailable", stream=stream, reason=type(exc).__name__)
                continue
            self.messages.labels(stream=stream).set(info.state.messages)
            for consumer in consumers:
                name = consumer.config.durable_name
                if not name:
                    continue
                key = (stream, name)
                if key not in self._consumers and len(self._consumers) >= MAX_CONSUMERS:
                    continue
                seen.add(key)
                self._consumers.add(key)
                self.pending.labels(stream=stream, consumer=name).set(consumer.num_pending or 0)
                self.ack_pending.labels(stream=stream, consumer=name).set(
                    consumer.num_ack_pending or 0
                )
        for stream, name in self._consumers - seen:
            with contextlib.suppress(KeyError):
                self.pending.remove(stream, name)
                self.ack_pending.remove(stream, name)
        self._consumers = seen
        self.last_refresh.set_to_current_time()

    async def run(self, js: JetStreamContext) -> None:
        """Refresh every ``interval`` seconds until cancelled."""
        while True:
            await self.refresh(js)
            await asyncio.sleep(self.interval)
