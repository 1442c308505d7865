"""Wiring of the mapping service: broker, KV store, handlers, ASGI app."""

from __future__ import annotations

from dataclasses import dataclass

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from nats.js.kv import KeyValue
from pdjira_common import streams
from pdjira_common.bus import make_broker
from pdjira_common.config import Config
from pdjira_common.consumers import update_consumer
from pdjira_common.service import service_app
from pdjira_common.streams import Topology

from pdjira_mapping.handlers import CONSUMER, register
from pdjira_mapping.metrics import MappingMetrics
from pdjira_mapping.store import KvLinkStore

__all__ = ["MappingService", "create_service"]


@dataclass(frozen=True, slots=True)
class MappingService:
    app: AsgiFastStream
    broker: NatsBroker
    store: KvLinkStore
    metrics: MappingMetrics


def create_service(config: Config, *, topology: Topology | None = None) -> MappingService:
    """Everything the mapping service runs, not started; ``app`` starts it."""
    broker = make_broker(config.nats.url, consumer=CONSUMER, retry=config.retry)

    async def open_bucket() -> KeyValue:
        # The bucket is declared once, in libs/common (ensure_topology), never here.
        kv: KeyValue = await broker.key_value(streams.KV_LINKS, declare=False)
        return kv

    store = KvLinkStore(open_bucket)
    metrics = MappingMetrics.create()
    register(broker, store, metrics, config.retry)

    async def apply_consumer_settings() -> None:
        # An existing durable keeps its old settings unless told: apply the configured ack_wait.
        js = broker.config.connection_state.stream
        await update_consumer(js, streams.OUTCOMES, CONSUMER, ack_wait=config.retry.ack_wait)

    app = service_app(
        broker,
        topology=topology or Topology(replicas=config.nats.replicas),
        registry=metrics.registry,
        after_startup=(apply_consumer_settings,),
    )
    return MappingService(app=app, broker=broker, store=store, metrics=metrics)
