"""Ingest fixtures: a config with signed and URL-token targets; the app on a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from pdjira_common import streams
from pdjira_common.bus import make_broker
from pdjira_common.config import Config, RetrySettings, parse_config
from pdjira_common.streams import Topology
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_ingest.app import create_app
from pdjira_ingest.metrics import IngestMetrics
from starlette.applications import Starlette

PD_SECRET = "pd-secret-Zm9vYmFyYmF6"
PD_OLD_SECRET = "pd-old-secret-cXV4"
JIRA_SECRET = "jira-secret-hub-9f8e7d"
JIRA_TOKEN = "jira-url-token-5e1c0a77b2d94f3e"


def make_config() -> Config:
    return parse_config(
        {
            "pagerduty_accounts": [
                {
                    "id": "acme",
                    "token": "pd-token-abcdef",
                    "from_email": "bot@example.com",
                    "webhook_secrets": [PD_SECRET, PD_OLD_SECRET],
                },
                {"id": "nosecrets", "token": "pd-token-ghijkl", "from_email": "bot@example.com"},
            ],
            "jira_instances": [
                {
                    "id": "dc1",
                    "base_url": "jira.example.com",
                    "auth": {"type": "token", "token": "jira-pat-123456"},
                    "webhook_secret": JIRA_SECRET,
                },
                {
                    "id": "legacy",
                    "base_url": "https://old-jira.example.com",
                    "auth": {"type": "basic", "username": "sync", "password": "hunter22"},
                    "webhook_token": JIRA_TOKEN,
                },
            ],
        }
    )


@pytest.fixture
def config() -> Config:
    return make_config()


@dataclass
class Ingest:
    """The app under test, an HTTP client for it, and a way to read what it stored."""

    http: httpx.AsyncClient
    js: JetStreamContext
    metrics: IngestMetrics
    app: Starlette

    async def stored(self) -> list[RawStreamMsg]:
        """Every message in stream EVENTS, in order."""
        info = await self.js.stream_info(streams.EVENTS)
        return [
            await self.js.get_msg(streams.EVENTS, seq)
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
            if info.state.messages
        ]


@pytest.fixture
async def ingest(nats_server: NatsServer, nc: Client, config: Config) -> AsyncIterator[Ingest]:
    broker = make_broker(nats_server.url, consumer="ingest", retry=RetrySettings())
    metrics = IngestMetrics()
    app = create_app(
        config,
        broker,
        topology=Topology(events_duplicate_window=120.0),
        metrics=metrics,
        publish_timeout=1.0,
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingest.test"
        ) as http,
    ):
        yield Ingest(http=http, js=nc.jetstream(), metrics=metrics, app=app)


@dataclass
class Served:
    """The real ingest app served by uvicorn on a port (as in production), on a real NATS."""

    url: str
    port: int
    js: JetStreamContext

    async def stored_count(self) -> int:
        return (await self.js.stream_info(streams.EVENTS)).state.messages


@pytest.fixture
async def served(nats_server: NatsServer, nc: Client, config: Config) -> AsyncIterator[Served]:
    broker = make_broker(nats_server.url, consumer="ingest", retry=RetrySettings())
    app = create_app(
        config,
        broker,
        topology=Topology(events_duplicate_window=120.0),
        metrics=IngestMetrics(),
        publish_timeout=2.0,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "ingest did not start"
    try:
        yield Served(url=f"http://127.0.0.1:{port}", port=port, js=nc.jetstream())
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
