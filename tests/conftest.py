"""Fixtures shared by the whole suite. Helpers that tests import live in ``tests/support``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from pdjira_common.bus import close_client
from pdjira_common.streams import Topology, ensure_topology
from pdjira_devstack.nats_server import NatsServer
from support.logs import configure_test_logging
from support.xdist_groups import (  # noqa: F401 - hooks: `--dist loadgroup` honours xdist_group
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_configure_node,
    pytest_unconfigure,
    pytest_xdist_make_scheduler,
)

configure_test_logging()


@pytest.fixture(autouse=True)
def _suite_logging() -> None:
    """Every test starts from the suite's logging: a test elsewhere may have left structlog
    writing to a captured (now closed) stream, which would make every log call fail."""
    configure_test_logging()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A real JetStream nats-server for one test, its data in the test's tmp folder."""
    server = NatsServer(tmp_path / "nats", log_file=tmp_path / "nats.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    """A nats-py connection with the pdjira topology declared."""
    client = await nats.connect(nats_server.url)
    await ensure_topology(client.jetstream(), Topology(events_duplicate_window=120.0))
    try:
        yield client
    finally:
        await close_client(client)
