"""Fixtures for the pd-writer: the PagerDuty simulator on a free port, the writer in-process,
and a watcher of the outcomes it publishes."""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common import subjects
from pdjira_common.config import Config, parse_config
from pdjira_common.contracts import Outcome, UpdateIncident, decode_outcome, encode
from pdjira_common.logging import configure_logging
from pdjira_devstack.mapping_standin import MappingStandIn
from pdjira_devstack.nats_server import NatsServer
from pdjira_pd_writer.main import PdWriterService, create_service
from pdjira_simulators.pagerduty import PagerDutySettings, create_app
from pdjira_simulators.testing import running_server

ACCOUNT = "acme"
PD_TOKEN = "pd-test-token-5f3a9c"
BOT_EMAIL = "pdjira-bot@example.com"


class OutcomeWatcher:
    """Every outcome published while the test runs (core subscription on ``outcomes.>``)."""

    def __init__(self) -> None:
        self.received: list[Outcome] = []
        self._arrived = asyncio.Condition()

    async def on_message(self, msg: Msg) -> None:
        self.received.append(decode_outcome(msg.data))
        async with self._arrived:
            self._arrived.notify_all()

    async def wait_for(self, command_id: str, *, within: float = 15.0) -> Outcome:
        def found() -> Outcome | None:
            return next((o for o in self.received if o.command_id == command_id), None)

        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: found() is not None)
        outcome = found()
        assert outcome is not None
        return outcome


@pytest.fixture
async def outcomes(nc: Client) -> AsyncIterator[OutcomeWatcher]:
    watcher = OutcomeWatcher()
    sub = await nc.subscribe("outcomes.>", cb=watcher.on_message)
    try:
        yield watcher
    finally:
        await sub.unsubscribe()


class PdSim:
    """The simulator's base URL plus the admin calls the tests make."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url
        self.http = http

    async def trigger(self, title: str = "Disk full on db-1") -> str:
        response = await self.http.post(f"{self.url}/_sim/incidents", json={"title": title})
        response.raise_for_status()
        return str(response.json()["incident"]["id"])

    async def set_status(self, incident_id: str, status: str) -> None:
        response = await self.http.post(
            f"{self.url}/_sim/incidents/{incident_id}/status", json={"status": status}
        )
        response.raise_for_status()

    async def incident(self, incident_id: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.url}/_sim/state")
        return next(i for i in response.json()["incidents"] if i["id"] == incident_id)

    async def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        response = await self.http.get(f"{self.url}/_sim/requests")
        entries: list[dict[str, Any]] = response.json()["requests"]
        return [r for r in entries if method is None or r["method"] == method]

    async def faults(self, **faults: Any) -> None:
        (await self.http.put(f"{self.url}/_sim/faults", json=faults)).raise_for_status()

    async def clear_faults(self) -> None:
        (await self.http.delete(f"{self.url}/_sim/faults")).raise_for_status()

    async def ratelimit(self, limit: int, window_seconds: float) -> None:
        body = {"limit": limit, "window_seconds": window_seconds}
        (await self.http.put(f"{self.url}/_sim/ratelimit", json=body)).raise_for_status()


@pytest.fixture
async def pd_sim() -> AsyncIterator[PdSim]:
    app = create_app(PagerDutySettings(token=PD_TOKEN, seed=7))
    async with running_server(app) as url, httpx.AsyncClient(timeout=10.0) as http:
        yield PdSim(url, http)


def make_config(
    nats_url: str, pd_url: str, *, retry: dict[str, Any] | None = None, **account: Any
) -> Config:
    return parse_config(
        {
            "nats": {"url": nats_url},
            "pagerduty_accounts": [
                {
                    "id": ACCOUNT,
                    "api_url": pd_url,
                    "token": PD_TOKEN,
                    "from_email": BOT_EMAIL,
                    **account,
                }
            ],
            "retry": {
                "base_delay": 0.1,
                "max_delay": 0.5,
                "max_attempts": 6,
                "ack_wait": 5.0,
                "http_timeout": 2.0,
                **(retry or {}),
            },
        }
    )


@pytest.fixture
def start_writer(
    nc: Client, nats_server: NatsServer, standin: MappingStandIn, pd_sim: PdSim
) -> Callable[..., Any]:
    """``async with start_writer(retry=..., **account_overrides) as service``: running."""

    def start(*, retry: dict[str, Any] | None = None, **account: Any) -> Any:
        service = create_service(make_config(nats_server.url, pd_sim.url, retry=retry, **account))
        return _Running(service)

    return start


class _Running:
    def __init__(self, service: PdWriterService) -> None:
        self.service = service

    async def __aenter__(self) -> PdWriterService:
        await self.service.app.start()
        return self.service

    async def __aexit__(self, *_: object) -> None:
        await self.service.app.stop()


@pytest.fixture
async def pd_writer(start_writer: Callable[..., Any]) -> AsyncIterator[PdWriterService]:
    async with start_writer() as service:
        yield service


async def send(nc: Client, command: UpdateIncident, *, msg_id: str | None = None) -> None:
    """Publish a command as the rules service does (Nats-Msg-Id = the command id)."""
    await nc.jetstream().publish(
        subjects.command_pd(command.incident.account, command.incident.incident_id),
        encode(command),
        headers={
            "Nats-Msg-Id": msg_id or command.command_id,
            "Pdjira-Correlation-Id": command.correlation_id,
        },
    )


class JsonLogs:
    """The service's structlog JSON lines, as production writes them (to a buffer here)."""

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[JsonLogs]:
    buffer = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", buffer)
        configure_logging("pd-writer", "debug")
    try:
        yield JsonLogs(buffer)
    finally:
        # Back to structlog's defaults: later tests must not write to this buffer.
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


@pytest.fixture
async def standin(nc: Client) -> AsyncIterator[MappingStandIn]:
    """Mapping's request/reply side (echo marks, users, pairs) for these tests."""
    fake = await MappingStandIn().start(nc)
    try:
        yield fake
    finally:
        await fake.stop()
