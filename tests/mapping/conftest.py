"""Fixtures for the mapping service: a config on the test nats-server, the service running."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client
from pdjira_common.config import Config, parse_config
from pdjira_devstack.nats_server import NatsServer
from pdjira_mapping.main import MappingService, create_service


@pytest.fixture
def mapping_config(nats_server: NatsServer) -> Config:
    return parse_config(
        {
            "nats": {"url": nats_server.url},
            "retry": {"base_delay": 0.1, "max_delay": 0.5, "max_attempts": 3, "ack_wait": 5.0},
        }
    )


@pytest.fixture
async def mapping(nc: Client, mapping_config: Config) -> AsyncIterator[MappingService]:
    """The mapping service, started in-process (``nc`` has declared the topology)."""
    service = create_service(mapping_config)
    async with service.app:
        yield service


@pytest.fixture
async def requester(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    """A plain broker, as the writers hold one, for the mapping client's requests."""
    broker = NatsBroker(nats_server.url)
    await broker.connect()
    try:
        yield broker
    finally:
        await broker.stop()
