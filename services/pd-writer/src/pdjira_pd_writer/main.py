"""Wiring of the pd-writer: broker, one PagerDuty client per account, handler, ASGI app."""

from __future__ import annotations

from dataclasses import dataclass

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from pdjira_common import streams, subjects
from pdjira_common.bus import jetstream, make_broker
from pdjira_common.config import Config
from pdjira_common.consumers import update_consumer
from pdjira_common.lanes import LaneDispatcher
from pdjira_common.mapping_client import MappingAsks
from pdjira_common.service import service_app
from pdjira_common.streams import Topology
from pdjira_common.write_order import kv_last_writes

from pdjira_pd_writer.handlers import CONSUMER, make_command_handler, register_reads
from pdjira_pd_writer.metrics import PdWriterMetrics
from pdjira_pd_writer.pd_client import HttpPagerDutyClient, PagerDutyApi
from pdjira_pd_writer.writer import PdWriter

__all__ = ["PdWriterService", "create_service"]


@dataclass(frozen=True, slots=True)
class PdWriterService:
    app: AsgiFastStream
    broker: NatsBroker
    writer: PdWriter
    metrics: PdWriterMetrics


def create_service(
    config: Config,
    *,
    topology: Topology | None = None,
    clients: dict[str, PagerDutyApi] | None = None,
) -> PdWriterService:
    """Everything the pd-writer runs, not started; ``app`` starts it."""
    broker = make_broker(config.nats.url, consumer=CONSUMER, retry=config.retry)
    metrics = PdWriterMetrics.create()
    if clients is None:
        clients = {
            account.id: HttpPagerDutyClient(
                account,
                timeout=config.retry.http_timeout,
                metrics=metrics,
                replicas=config.writers.replicas,
                max_wait=max(config.retry.ack_wait, 5.0),
            )
            for account in config.pagerduty_accounts
        }
    writer = PdWriter(
        clients=clients, mapping=MappingAsks(broker), last_writes=kv_last_writes(broker)
    )
    register_reads(broker, clients)
    lanes: list[LaneDispatcher] = []

    async def start_lanes() -> None:
        js = jetstream(broker)
        dispatcher = LaneDispatcher(
            js,
            subject=subjects.ALL_COMMANDS_PD,
            durable=CONSUMER,
            handler=make_command_handler(broker, writer, metrics),
            retry=config.retry,
            concurrency=config.writers.concurrency,
        )
        await dispatcher.start()
        # An existing durable keeps its old settings unless told: apply the configured ack_wait.
        await update_consumer(js, streams.COMMANDS, CONSUMER, ack_wait=config.retry.ack_wait)
        lanes.append(dispatcher)

    async def stop_lanes() -> None:
        for dispatcher in lanes:
            await dispatcher.stop()

    app = service_app(
        broker,
        topology=topology or Topology(replicas=config.nats.replicas),
        registry=metrics.registry,
        after_startup=(start_lanes,),
        on_shutdown=(stop_lanes,),
    )

    @app.after_shutdown
    async def close_clients() -> None:
        # After the broker stopped (in-flight commands finished), not before.
        for client in clients.values():
            await client.aclose()

    return PdWriterService(app=app, broker=broker, writer=writer, metrics=metrics)
