"""Wiring: the broker, the EVENTS consumer (per-entity lanes: entities decided concurrently,
each one's events in stream order), the rule store (KV ``pdjira_rules``, watched), the
pending-link marks (KV ``pdjira_pending``), the JQL fallback, and the ASGI app: /health,
/metrics and the rules admin API under /rules."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.kv import KeyValue
from pdjira_common import streams, subjects
from pdjira_common.bus import jetstream, make_broker, nats_client
from pdjira_common.config import Config, RetrySettings
from pdjira_common.contracts import Event, IncidentEvent, decode_event
from pdjira_common.lanes import LaneDispatcher
from pdjira_common.partition_lanes import PartitionedLanes
from pdjira_common.partitions import Unit, units
from pdjira_common.retry import Unprocessable, waits_within
from pdjira_common.secrets import redact
from pdjira_common.service import service_app
from pdjira_common.streams import Topology

from pdjira_rules.access_check import JiraAccessCheck
from pdjira_rules.actors import unlinked_policy
from pdjira_rules.admin_api import RulesApi
from pdjira_rules.catalog import Catalogs
from pdjira_rules.config_check import CheckedRules
from pdjira_rules.handlers import Deciding, handle_event
from pdjira_rules.metrics import RulesMetrics, broker_metrics_middleware
from pdjira_rules.pending import KvPendingLinks
from pdjira_rules.reads import JiraZones, JqlFallback, NatsReads
from pdjira_rules.rule_loading import rules_of_config
from pdjira_rules.store import RuleStore

__all__ = [
    "CONCURRENCY",
    "CONSUMER",
    "RulesService",
    "build",
    "create_service",
    "decode",
    "event_handler",
    "lane_retry",
]

CONSUMER = "rules"
# Events of different entities decided at once, at most (one entity's: one at a time, in order).
# The lanes hold 4x as many events: that much room for entities waiting for their link.
CONCURRENCY = 32


def lane_retry(config: Config) -> RetrySettings:
    """The retry policy of the rules lanes: an event waits for a pending link up to
    ``rules_service.link_wait`` seconds (the handler gives up then, with the reason); the wait
    count bound only backs that up."""
    waits = waits_within(config.rules_service.link_wait) + 2
    retry = config.retry
    return msgspec.structs.replace(
        retry, prerequisite_max_attempts=max(retry.prerequisite_max_attempts, waits)
    )


def decode(msg: Msg) -> Event:
    """The event in ``msg`` (any version, upgraded); Unprocessable if it is none."""
    try:
        event = decode_event(msg.data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        # Retrying cannot help, and would hold up the entity's later events.
        raise Unprocessable(
            redact(
                f"the message does not decode as an event (of any version) on {msg.subject}: "
                f"{exc}; if it is a new kind of event, upgrade rules and replay it from the DLQ"
            )
        ) from exc
    for field, value in entity_ids(event):
        problem = subjects.id_problem(value)
        if problem is not None:
            # Ingest refuses such an id with a 400: this event was published around it. Its
            # commands would carry the id into subjects, keys, labels and vendor calls.
            raise Unprocessable(
                f"the event's {field} {problem}; ingest refuses such ids, so this event did "
                "not come through it: find who published it"
            )
    return event


def entity_ids(event: Event) -> tuple[tuple[str, str], ...]:
    """The ids of the entity an event is about (they become subject tokens and keys)."""
    if isinstance(event, IncidentEvent):
        return (("account", event.account), ("incident_id", event.incident_id))
    return (("instance", event.instance), ("issue_id", event.issue_id), ("key", event.key))


def event_handler(deciding: Deciding) -> Callable[[Msg], Awaitable[None]]:
    """The lane handler: decode, decide (the lane acks after it, or retries, or dead-letters)."""

    async def on_event(msg: Msg) -> None:
        arrived = msg.metadata.timestamp or datetime.now(UTC)
        await handle_event(deciding, decode(msg), arrived=arrived)

    return on_event


@dataclass(frozen=True, slots=True)
class RulesService:
    app: AsgiFastStream  # the broker's lifecycle (store included), /health and /metrics
    asgi: Any  # what uvicorn serves: ``app`` plus the admin API under /rules
    broker: NatsBroker
    store: RuleStore
    api: RulesApi
    jql: JqlFallback
    checked: CheckedRules  # the store's rules minus config rules the live catalogs refused


def create_service(config: Config, *, topology: Topology | None = None) -> RulesService:
    """Everything the rules service runs, not started; ``app`` starts it.

    Raises :class:`pdjira_rules.rule_loading.RuleLoadError` when a configured rule cannot be
    used (the service must not start with a rule silently missing).
    """
    accounts = [a.id for a in config.pagerduty_accounts]
    instances = [j.id for j in config.jira_instances]
    config_rules = rules_of_config(config)  # the same check as `pdjira config check`
    metrics = RulesMetrics()
    broker = make_broker(
        config.nats,
        consumer=CONSUMER,
        retry=config.retry,
        middlewares=(broker_metrics_middleware(metrics.registry, "rules"),),
    )

    def connection() -> Client:
        client: Client = nats_client(broker)
        return client

    async def open_bucket() -> KeyValue:
        # Declared once, in libs/common (ensure_topology), never here.
        kv: KeyValue = await broker.key_value(streams.KV_RULES, declare=False)
        return kv

    async def open_pending() -> KeyValue:
        kv: KeyValue = await broker.key_value(streams.KV_PENDING, declare=False)
        return kv

    settings = config.rules_service
    reads = NatsReads(connection, timeout=settings.read_timeout)
    store = RuleStore(open_bucket, config_rules)
    jql = JqlFallback(reads, ttl=settings.jql_cache_ttl)
    catalogs = Catalogs(reads)
    checked = CheckedRules(store, catalogs)
    deciding = Deciding(
        broker=broker,
        metrics=metrics,
        rules=checked,
        jql=jql,
        pending=KvPendingLinks(open_pending),
        link_wait=settings.link_wait,
        unlinked=unlinked_policy(config),
        zones=JiraZones(reads),  # the integration user's zone, for JQL dates
    )
    lanes: list[PartitionedLanes] = []

    async def check_config_rules() -> None:
        checked.start()  # in the background: the writers may start after us

    async def start_lanes() -> None:
        js = jetstream(broker)
        running = asyncio.Semaphore(CONCURRENCY)  # shared by this replica's partitions
        retry = lane_retry(config)

        def dispatcher(unit: Unit) -> LaneDispatcher:
            return LaneDispatcher(
                js,
                subject=unit.filter,
                durable=unit.durable,
                handler=event_handler(deciding),
                retry=retry,
                concurrency=CONCURRENCY,
                stream=streams.EVENTS,
                running=running,
                owner=CONSUMER,
                metrics=metrics.delivery,
            )

        partitioned = PartitionedLanes(
            js,
            group=CONSUMER,
            stream=streams.EVENTS,
            units=units(CONSUMER, subjects.ALL_EVENTS, config.nats.partitions),
            dispatcher=dispatcher,
            ack_wait=retry.ack_wait,
        )
        await partitioned.start()
        lanes.append(partitioned)

    async def stop_lanes() -> None:
        for partitioned in lanes:
            await partitioned.stop()
        lanes.clear()

    app = service_app(
        broker,
        name="rules",
        topology=topology or Topology.of(config.nats),
        registry=metrics.registry,
        after_startup=(start_lanes, check_config_rules),
        on_shutdown=(stop_lanes, checked.stop, store.stop),
    )

    # After the topology is declared (the first startup hook), before the lanes start (after
    # startup): no event is decided before the stored rules are loaded.
    @app.on_startup
    async def start_store() -> None:
        await store.start()

    api = RulesApi(
        settings,
        accounts=accounts,
        instances=instances,
        store=store,
        catalogs=catalogs,
        access=JiraAccessCheck(reads),  # rules validate, GET /rules/permissions
        refused=checked.refused,
    )

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and RulesApi.serves(str(scope.get("path", ""))):
            await api(scope, receive, send)
        else:
            await app(scope, receive, send)

    return RulesService(
        app=app, asgi=asgi, broker=broker, store=store, api=api, jql=jql, checked=checked
    )


def build(config: Config, *, topology: Topology | None = None) -> tuple[NatsBroker, AsgiFastStream]:
    """The broker and the app that runs it (see :func:`create_service`)."""
    service = create_service(config, topology=topology)
    return service.broker, service.app
