"""Wiring: the broker, the EVENTS consumer, the rule store (KV ``pdjira_rules``, watched), the
JQL fallback, and the ASGI app: /health, /metrics and the rules admin API under /rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faststream.asgi import AsgiFastStream
from faststream.nats import ConsumerConfig, JStream, NatsBroker, PullSub
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.aio.client import Client
from nats.js.kv import KeyValue
from pdjira_common import streams, subjects
from pdjira_common.bus import jetstream, make_broker, nats_client
from pdjira_common.config import Config
from pdjira_common.consumers import update_consumer
from pdjira_common.contracts import AnyEvent, upgrade_event
from pdjira_common.service import service_app
from pdjira_common.streams import Topology

from pdjira_rules.admin_api import RulesApi
from pdjira_rules.catalog import Catalogs
from pdjira_rules.config_check import CheckedRules
from pdjira_rules.handlers import JqlAsker, RuleSource, handle_event
from pdjira_rules.metrics import RulesMetrics
from pdjira_rules.reads import JqlFallback, NatsReads
from pdjira_rules.rule_loading import load_config_rules
from pdjira_rules.store import RuleStore

__all__ = ["CONSUMER", "RulesService", "build", "consumer_settings", "create_service", "subscribe"]

CONSUMER = "rules"


def consumer_settings(config: Config) -> dict[str, Any]:
    """The editable consumer settings, applied at creation and again after every start."""
    # max_ack_pending=1: at most one event in flight, also while a failed one waits for its
    # delayed retry, so events are decided in stream order and per-incident order holds.
    # Per-entity concurrency (parallel across incidents, ordered within one) comes later.
    return {"ack_wait": config.retry.ack_wait, "max_ack_pending": 1}


def subscribe(
    broker: NatsBroker,
    config: Config,
    metrics: RulesMetrics,
    *,
    rules: RuleSource,
    jql: JqlAsker | None = None,
) -> None:
    """Register the durable pull consumer "rules" on stream EVENTS. The body is decoded as an
    event of any version (an older one is upgraded); anything else is dead-lettered at once by
    the bus middleware, with the decoding error as the reason."""

    @broker.subscriber(
        subjects.ALL_EVENTS,
        stream=JStream(streams.EVENTS, declare=False),
        durable=CONSUMER,
        pull_sub=PullSub(batch_size=1, timeout=1.0),
        config=ConsumerConfig(**consumer_settings(config)),
    )
    async def on_event(body: AnyEvent) -> None:
        await handle_event(broker, upgrade_event(body), metrics, rules=rules, jql=jql)


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
    config_rules = load_config_rules(
        config.pagerduty_rules, accounts, instances, simple_rules=config.rules
    )
    metrics = RulesMetrics()
    broker = make_broker(
        config.nats.url,
        consumer=CONSUMER,
        retry=config.retry,
        middlewares=(NatsPrometheusMiddleware(registry=metrics.registry, app_name="rules"),),
    )

    def connection() -> Client:
        client: Client = nats_client(broker)
        return client

    async def open_bucket() -> KeyValue:
        # Declared once, in libs/common (ensure_topology), never here.
        kv: KeyValue = await broker.key_value(streams.KV_RULES, declare=False)
        return kv

    settings = config.rules_service
    reads = NatsReads(connection, timeout=settings.read_timeout)
    store = RuleStore(open_bucket, config_rules)
    jql = JqlFallback(reads, ttl=settings.jql_cache_ttl)
    catalogs = Catalogs(reads)
    checked = CheckedRules(store, catalogs)
    subscribe(broker, config, metrics, rules=checked, jql=jql)

    async def check_config_rules() -> None:
        checked.start()  # in the background: the writers may start after us

    async def align_consumer() -> None:
        # An existing durable keeps its old config unless updated explicitly.
        js = jetstream(broker)
        await update_consumer(js, streams.EVENTS, CONSUMER, **consumer_settings(config))

    app = service_app(
        broker,
        topology=topology or Topology(replicas=config.nats.replicas),
        registry=metrics.registry,
        after_startup=(align_consumer, check_config_rules),
        on_shutdown=(checked.stop, store.stop),
    )

    # After the topology is declared (the first startup hook), before the consumer starts:
    # no event is decided before the stored rules are loaded.
    @app.on_startup
    async def start_store() -> None:
        await store.start()

    api = RulesApi(settings, accounts=accounts, instances=instances, store=store, catalogs=catalogs)

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and RulesApi.serves(str(scope.get("path", ""))):
            await api(scope, receive, send)
        else:
            await app(scope, receive, send)

    return RulesService(
        app=app, asgi=asgi, broker=broker, store=store, api=api, jql=jql, checked=checked
    )


def build(config: Config, *, topology: Topology | None = None) -> tuple[NatsBroker, AsgiFastStream]:
    """The broker (with the subscriber) and the app that runs it (see :func:`create_service`)."""
    service = create_service(config, topology=topology)
    return service.broker, service.app
