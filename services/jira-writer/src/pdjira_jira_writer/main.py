"""Wiring of the jira-writer: broker, one Jira client per instance, handler, ASGI app."""

from __future__ import annotations

from dataclasses import dataclass

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from pdjira_common import streams, subjects
from pdjira_common.bus import jetstream, make_broker
from pdjira_common.config import Config
from pdjira_common.consumers import update_consumer
from pdjira_common.contracts import IncidentRef, Link
from pdjira_common.lanes import LaneDispatcher
from pdjira_common.mapping_client import link_of_incident
from pdjira_common.service import service_app
from pdjira_common.streams import Topology
from pdjira_common.write_order import kv_last_writes

from pdjira_jira_writer.asks import MappingAsks
from pdjira_jira_writer.handlers import (
    CONSUMER,
    is_create,
    make_command_handler,
    register_reads,
)
from pdjira_jira_writer.jira_client import HttpJiraClient, JiraApi
from pdjira_jira_writer.metrics import JiraWriterMetrics
from pdjira_jira_writer.reads import JiraReads
from pdjira_jira_writer.writer import JiraWriter

__all__ = ["JiraWriterService", "create_service"]


@dataclass(frozen=True, slots=True)
class JiraWriterService:
    app: AsgiFastStream
    broker: NatsBroker
    writer: JiraWriter
    metrics: JiraWriterMetrics


def create_service(
    config: Config,
    *,
    topology: Topology | None = None,
    clients: dict[str, JiraApi] | None = None,
) -> JiraWriterService:
    """Everything the jira-writer runs, not started; ``app`` starts it."""
    broker = make_broker(config.nats.url, consumer=CONSUMER, retry=config.retry)
    metrics = JiraWriterMetrics.create()
    if clients is None:
        clients = {
            instance.id: HttpJiraClient(
                instance,
                timeout=config.retry.http_timeout,
                metrics=metrics,
                replicas=config.writers.replicas,
                # Waits for the rate limit stay well inside the lane's bound on a command.
                max_wait=max(config.retry.ack_wait, 5.0),
            )
            for instance in config.jira_instances
        }

    async def find_link(incident: IncidentRef) -> Link | None:
        return await link_of_incident(broker, incident)

    writer = JiraWriter(
        clients=clients,
        find_link=find_link,
        mapping=MappingAsks(broker),
        last_writes=kv_last_writes(broker),
        crash_after=config.writers.crash_after,
    )
    register_reads(broker, JiraReads(clients))
    lanes: list[LaneDispatcher] = []

    async def start_lanes() -> None:
        js = jetstream(broker)
        dispatcher = LaneDispatcher(
            js,
            subject=subjects.ALL_COMMANDS_JIRA,
            durable=CONSUMER,
            handler=make_command_handler(broker, writer, metrics),
            retry=config.retry,
            concurrency=config.writers.concurrency,
            may_overtake=is_create,
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

    return JiraWriterService(app=app, broker=broker, writer=writer, metrics=metrics)
