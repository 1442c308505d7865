"""Wiring of the jira-writer: broker, one Jira client per instance, handler, ASGI app."""

from __future__ import annotations

from dataclasses import dataclass

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from pdjira_common import streams
from pdjira_common.bus import make_broker
from pdjira_common.config import Config
from pdjira_common.consumers import update_consumer
from pdjira_common.contracts import IncidentRef, Link
from pdjira_common.mapping_client import link_of_incident
from pdjira_common.service import service_app
from pdjira_common.streams import Topology

from pdjira_jira_writer.handlers import CONSUMER, register
from pdjira_jira_writer.jira_client import HttpJiraClient, JiraApi
from pdjira_jira_writer.metrics import JiraWriterMetrics
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
                instance, timeout=config.retry.http_timeout, metrics=metrics
            )
            for instance in config.jira_instances
        }

    async def find_link(incident: IncidentRef) -> Link | None:
        return await link_of_incident(broker, incident)

    writer = JiraWriter(clients=clients, find_link=find_link)
    register(broker, writer, metrics, config.retry)

    async def apply_consumer_settings() -> None:
        # An existing durable keeps its old settings unless told: apply the configured ack_wait.
        js = broker.config.connection_state.stream
        await update_consumer(js, streams.COMMANDS, CONSUMER, ack_wait=config.retry.ack_wait)

    app = service_app(
        broker,
        topology=topology or Topology(replicas=config.nats.replicas),
        registry=metrics.registry,
        after_startup=(apply_consumer_settings,),
    )

    @app.after_shutdown
    async def close_clients() -> None:
        # After the broker stopped (in-flight commands finished), not before.
        for client in clients.values():
            await client.aclose()

    return JiraWriterService(app=app, broker=broker, writer=writer, metrics=metrics)
