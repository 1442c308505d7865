"""Wiring of the jira-writer: the kernel's service with Jira's clients, reads and writer."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from faststream.nats import NatsBroker
from pdjira_common.mapping_client import link_of_incident
from pdjira_writer.service import WriterService, WriterServiceFactory
from pdjira_writer.write_order import kv_last_writes

from pdjira_jira_writer.asks import MappingAsks
from pdjira_jira_writer.handlers import register_reads
from pdjira_jira_writer.health import register_health
from pdjira_jira_writer.identity import register_identity_reads
from pdjira_jira_writer.jira_client import JiraApi, http_clients
from pdjira_jira_writer.reads import JiraReads
from pdjira_jira_writer.spec import SPEC
from pdjira_jira_writer.webhooks import register_webhook_admin
from pdjira_jira_writer.writer import JiraWriter

__all__ = ["JiraWriterService", "create_service"]

JiraWriterService = WriterService[JiraWriter]


def wire(broker: NatsBroker, clients: Mapping[str, JiraApi]) -> JiraWriter:
    """The reads Jira answers for others, and the writer the lanes apply commands with."""
    register_reads(broker, JiraReads(clients))
    register_webhook_admin(broker, clients)  # ingest's webhook check
    register_health(broker, clients)  # pdjira doctor, rules validate
    register_identity_reads(broker, clients)  # users by key; whose a person's PAT is
    return JiraWriter(
        clients=clients,
        find_link=partial(link_of_incident, broker),
        mapping=MappingAsks(broker),
        last_writes=kv_last_writes(broker),
    )


# ``create_service(config, topology=..., clients=...)``: everything it runs, not started.
create_service = WriterServiceFactory(SPEC, http_clients=http_clients, wire=wire)
