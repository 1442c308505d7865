"""Wiring of the mapping service: broker, KV stores, registries, handlers, ASGI app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from nats.js.kv import KeyValue
from pdjira_common import streams
from pdjira_common.bus import jetstream, make_broker, nats_client
from pdjira_common.config import Config
from pdjira_common.consumers import subscriber_max_deliver, update_consumer
from pdjira_common.logging import get_logger
from pdjira_common.requests import LINKS_CHANGED
from pdjira_common.service import service_app
from pdjira_common.streams import Topology

from pdjira_mapping.admin import ADMIN_PREFIX, admin_app
from pdjira_mapping.handlers import CONSUMER, Registries, Responders, register
from pdjira_mapping.kvstore import TypedBucket
from pdjira_mapping.metrics import MappingMetrics
from pdjira_mapping.models import EmailEntry, LinkState, ManualLink, Marks, Pair
from pdjira_mapping.reads import NatsReads
from pdjira_mapping.registry import EchoRegistry, PairRegistry, UserRegistry
from pdjira_mapping.store import KvLinkStore

__all__ = ["MappingService", "create_service"]

_log = get_logger("pdjira_mapping")


@dataclass(frozen=True, slots=True)
class MappingService:
    app: AsgiFastStream  # the broker's lifecycle, /health and /metrics
    asgi: Any  # what uvicorn serves: ``app`` plus the admin API under /admin/
    broker: NatsBroker
    store: KvLinkStore
    registries: Registries
    metrics: MappingMetrics


def _opener(broker: NatsBroker, bucket: str) -> Any:
    async def open_bucket() -> KeyValue:
        # Buckets are declared once, in libs/common (ensure_topology), never here.
        kv: KeyValue = await broker.key_value(bucket, declare=False)
        return kv

    return open_bucket


def create_service(config: Config, *, topology: Topology | None = None) -> MappingService:
    """Everything the mapping service runs, not started; ``app`` starts it."""
    metrics = MappingMetrics.create()
    broker = make_broker(
        config.nats, consumer=CONSUMER, retry=config.retry, delivery=metrics.delivery
    )
    settings = config.mapping
    users = _opener(broker, streams.KV_USERS)
    pairs = _opener(broker, streams.KV_PAIRS)

    async def links_removed(keys: list[str]) -> None:
        await nats_client(broker).publish(LINKS_CHANGED, " ".join(keys).encode())

    store = KvLinkStore(
        _opener(broker, streams.KV_LINKS),
        on_removed=links_removed,
        cache_size=config.mapping.link_cache_size,
        cache_max_age=config.mapping.link_cache_max_age,
    )
    registries = Registries(
        links=store,
        users=UserRegistry(
            TypedBucket(users, ManualLink),
            TypedBucket(users, EmailEntry),
            NatsReads(broker, timeout=settings.read_timeout),
            settings,
        ),
        echo=EchoRegistry(
            TypedBucket(_opener(broker, streams.KV_ECHO), Marks),
            max_ttl=min(settings.echo_mark_ttl, streams.ECHO_MAX_TTL),
        ),
        pairs=PairRegistry(TypedBucket(pairs, Pair), TypedBucket(pairs, LinkState)),
    )
    metrics.links_in_memory.set_function(store.cached)
    register(broker, registries, metrics, config.retry)
    responders = Responders(registries, metrics)

    following: list[asyncio.Task[None]] = []

    async def start_responders() -> None:
        moved = await registries.users.rekey_manual_links()
        if moved:
            _log.info("manual_user_links_rekeyed", moved=moved)
        following.append(asyncio.create_task(store.follow(), name="links-follow"))
        await responders.start(nats_client(broker))

    async def stop_responders() -> None:
        await responders.stop()
        for task in following:
            task.cancel()
        if following:
            await asyncio.wait(following, timeout=5.0)

    async def apply_consumer_settings() -> None:
        # An existing durable keeps its old settings unless told: apply the configured ack_wait.
        js = jetstream(broker)
        await update_consumer(
            js,
            streams.OUTCOMES,
            CONSUMER,
            ack_wait=config.retry.ack_wait,
            max_deliver=subscriber_max_deliver(config.retry),
        )

    app = service_app(
        broker,
        name="mapping",
        topology=topology or Topology.of(config.nats),
        registry=metrics.registry,
        after_startup=(apply_consumer_settings, start_responders),
        on_shutdown=(stop_responders,),
    )
    admin = admin_app(config, registries, trace_js=lambda: jetstream(broker))

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(ADMIN_PREFIX):
            await admin(scope, receive, send)
        else:
            await app(scope, receive, send)

    return MappingService(
        app=app, asgi=asgi, broker=broker, store=store, registries=registries, metrics=metrics
    )
