"""Wiring of the pd-writer: the kernel's service with PagerDuty's clients, reads and writer."""

from __future__ import annotations

from collections.abc import Mapping

from faststream.nats import NatsBroker
from pdjira_common.mapping_client import MappingAsks
from pdjira_writer.service import WriterService, WriterServiceFactory
from pdjira_writer.write_order import kv_last_writes

from pdjira_pd_writer.handlers import register_reads
from pdjira_pd_writer.health import register_health
from pdjira_pd_writer.identity import register_identity_reads
from pdjira_pd_writer.pd_client import PagerDutyApi, http_clients
from pdjira_pd_writer.spec import SPEC
from pdjira_pd_writer.webhooks import register_webhook_admin
from pdjira_pd_writer.writer import PdWriter

__all__ = ["PdWriterService", "create_service"]

PdWriterService = WriterService[PdWriter]


def wire(broker: NatsBroker, clients: Mapping[str, PagerDutyApi]) -> PdWriter:
    """The user and catalog reads for others, and the writer the lanes apply commands with."""
    register_reads(broker, clients)
    register_webhook_admin(broker, clients)  # ingest's webhook check
    register_health(broker, clients)  # pdjira doctor
    register_identity_reads(broker, clients)  # whose a person's user API key is
    return PdWriter(
        clients=clients, mapping=MappingAsks(broker), last_writes=kv_last_writes(broker)
    )


# ``create_service(config, topology=..., clients=...)``: everything it runs, not started.
create_service = WriterServiceFactory(SPEC, http_clients=http_clients, wire=wire)
