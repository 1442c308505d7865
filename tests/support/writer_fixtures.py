"""The fixtures the jira-writer and pd-writer tests share; each writer's conftest imports them
(and defines ``service_name``, the service its logs name)."""

from __future__ import annotations

import io
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
import structlog
from nats.aio.client import Client
from pdjira_common.logging import configure_logging

from support.logs import configure_test_logging
from support.mapping_standin import MappingStandIn
from support.writers import JsonLogs, OutcomeWatcher

__all__ = ["json_logs", "outcomes", "standin"]


@pytest.fixture
async def outcomes(nc: Client) -> AsyncIterator[OutcomeWatcher]:
    watcher = OutcomeWatcher()
    sub = await nc.subscribe("outcomes.>", cb=watcher.on_message)
    try:
        yield watcher
    finally:
        await sub.unsubscribe()


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch, service_name: str) -> Iterator[JsonLogs]:
    buffer = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", buffer)
        configure_logging(service_name, "debug")
    try:
        yield JsonLogs(buffer)
    finally:
        # Back to structlog's defaults: later tests must not write to this buffer.
        configure_test_logging()
        structlog.contextvars.clear_contextvars()


@pytest.fixture
async def standin(nc: Client) -> AsyncIterator[MappingStandIn]:
    """Mapping's request/reply side (echo marks, users, pairs) for these tests."""
    fake = await MappingStandIn().start(nc)
    try:
        yield fake
    finally:
        await fake.stop()
