"""Wiring: the broker, the EVENTS consumer, the ASGI app with /health and /metrics."""

from __future__ import annotations

from typing import Any

from faststream.asgi import AsgiFastStream
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from faststream.nats.message import NatsMessage
from faststream.nats.prometheus import NatsPrometheusMiddleware
from pdjira_common import streams, subjects
from pdjira_common.bus import make_broker
from pdjira_common.config import Config
from pdjira_common.consumers import update_consumer
from pdjira_common.service import service_app
from pdjira_common.streams import Topology

from pdjira_rules.handlers import handle_event
from pdjira_rules.metrics import RulesMetrics

__all__ = ["CONSUMER", "build", "consumer_settings", "subscribe"]

CONSUMER = "rules"


def consumer_settings(config: Config) -> dict[str, Any]:
    """The editable consumer settings, applied at creation and again after every start."""
    # max_ack_pending=1: at most one event in flight, also while a failed one waits for its
    # delayed retry, so events are decided in stream order and per-incident order holds.
    # Per-entity concurrency (parallel across incidents, ordered within one) comes later.
    return {"ack_wait": config.retry.ack_wait, "max_ack_pending": 1}


async def _raw_body(msg: NatsMessage) -> bytes:
    # The handler decodes with msgspec itself, so that a body that is not an event is
    # dead-lettered at once (Unprocessable) instead of failing in the generic JSON decoder.
    body: bytes = msg.body
    return body


def subscribe(broker: NatsBroker, config: Config, metrics: RulesMetrics) -> None:
    """Register the durable pull consumer "rules" on stream EVENTS."""
    rules = config.rules

    @broker.subscriber(
        subjects.ALL_EVENTS,
        stream=JStream(streams.EVENTS, declare=False),
        durable=CONSUMER,
        pull_sub=PullSub(batch_size=1, timeout=1.0),
        config=ConsumerConfig(**consumer_settings(config)),
        decoder=_raw_body,
    )
    async def on_event(body: bytes) -> None:
        await handle_event(broker, rules, body, metrics)


def build(config: Config, *, topology: Topology | None = None) -> tuple[NatsBroker, AsgiFastStream]:
    """The broker (with the subscriber) and the app that runs it."""
    metrics = RulesMetrics()
    broker = make_broker(
        config.nats.url,
        consumer=CONSUMER,
        retry=config.retry,
        middlewares=(NatsPrometheusMiddleware(registry=metrics.registry, app_name="rules"),),
    )
    subscribe(broker, config, metrics)

    async def align_consumer() -> None:
        # An existing durable keeps its old config unless updated explicitly.
        js = broker.config.connection_state.stream
        await update_consumer(js, streams.EVENTS, CONSUMER, **consumer_settings(config))

    app = service_app(
        broker,
        topology=topology or Topology(replicas=config.nats.replicas),
        registry=metrics.registry,
        after_startup=(align_consumer,),
    )
    return broker, app
