"""Fixtures for the jira-writer: the Jira simulator on a free port, the mapping and the writer
in-process on the test's nats-server, and a watcher of the outcomes."""

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
from pdjira_common.contracts import (
    CreateIssue,
    Outcome,
    TransitionIssue,
    decode_outcome,
    encode,
)
from pdjira_common.logging import configure_logging
from pdjira_devstack.mapping_standin import MappingStandIn
from pdjira_devstack.nats_server import NatsServer
from pdjira_jira_writer.main import JiraWriterService, create_service
from pdjira_mapping.main import MappingService
from pdjira_mapping.main import create_service as create_mapping
from pdjira_simulators.jira import JiraSettings, create_app
from pdjira_simulators.testing import running_server

INSTANCE = "dc1"
JIRA_USER = "pdjira"
JIRA_PASSWORD = "jira-test-password-81c2"
JIRA_PAT = "jira-test-pat-0d4e7b55"


class OutcomeWatcher:
    """Every outcome published while the test runs (core subscription on ``outcomes.>``)."""

    def __init__(self) -> None:
        self.received: list[Outcome] = []
        self._arrived = asyncio.Condition()

    async def on_message(self, msg: Msg) -> None:
        self.received.append(decode_outcome(msg.data))
        async with self._arrived:
            self._arrived.notify_all()

    def of(self, command_id: str) -> list[Outcome]:
        return [o for o in self.received if o.command_id == command_id]

    async def wait_for(self, command_id: str, *, within: float = 15.0) -> Outcome:
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: bool(self.of(command_id)))
        return self.of(command_id)[0]


@pytest.fixture
async def outcomes(nc: Client) -> AsyncIterator[OutcomeWatcher]:
    watcher = OutcomeWatcher()
    sub = await nc.subscribe("outcomes.>", cb=watcher.on_message)
    try:
        yield watcher
    finally:
        await sub.unsubscribe()


class JiraSim:
    """The simulator's base URL plus the admin calls the tests make."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url
        self.http = http

    async def issues(self, label: str | None = None) -> list[dict[str, Any]]:
        response = await self.http.get(f"{self.url}/_sim/state")
        response.raise_for_status()
        issues: list[dict[str, Any]] = response.json()["issues"]
        return [i for i in issues if label is None or label in i["fields"].get("labels", [])]

    async def issue(self, key: str) -> dict[str, Any]:
        return next(i for i in await self.issues() if i["key"] == key)

    async def create_issue(self, **body: Any) -> dict[str, Any]:
        response = await self.http.post(f"{self.url}/_sim/issues", json=body)
        response.raise_for_status()
        return dict(response.json())

    async def move(self, key: str, status: str) -> None:
        response = await self.http.post(
            f"{self.url}/_sim/issues/{key}/transition", json={"status": status}
        )
        response.raise_for_status()

    async def requests(
        self, method: str | None = None, path: str | None = None
    ) -> list[dict[str, Any]]:
        response = await self.http.get(f"{self.url}/_sim/requests")
        entries: list[dict[str, Any]] = response.json()["requests"]
        return [
            r
            for r in entries
            if (method is None or r["method"] == method) and (path is None or r["path"] == path)
        ]

    async def writes(self) -> list[dict[str, Any]]:
        return [
            r
            for r in await self.requests()
            if r["method"] in ("POST", "PUT", "DELETE") and r["path"] != "/rest/api/2/search"
        ]

    async def clear_requests(self) -> None:
        (await self.http.delete(f"{self.url}/_sim/requests")).raise_for_status()

    async def faults(self, **faults: Any) -> None:
        (await self.http.put(f"{self.url}/_sim/faults", json=faults)).raise_for_status()

    async def clear_faults(self) -> None:
        (await self.http.delete(f"{self.url}/_sim/faults")).raise_for_status()

    async def workflow(self, body: dict[str, Any]) -> None:
        (await self.http.put(f"{self.url}/_sim/workflow", json=body)).raise_for_status()


@pytest.fixture
async def jira_sim() -> AsyncIterator[JiraSim]:
    app = create_app(
        JiraSettings(username=JIRA_USER, password=JIRA_PASSWORD, token=JIRA_PAT, seed=7)
    )
    async with running_server(app) as url, httpx.AsyncClient(timeout=10.0) as http:
        yield JiraSim(url, http)


def make_config(
    nats_url: str,
    jira_url: str,
    *,
    retry: dict[str, Any] | None = None,
    auth: dict[str, Any] | None = None,
) -> Config:
    return parse_config(
        {
            "nats": {"url": nats_url},
            "jira_instances": [
                {
                    "id": INSTANCE,
                    # no scheme on purpose: http:// is the default, as in PagerDuty's app
                    "base_url": jira_url.removeprefix("http://"),
                    "auth": auth
                    or {"type": "basic", "username": JIRA_USER, "password": JIRA_PASSWORD},
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


class _Running:
    def __init__(self, service: JiraWriterService | MappingService) -> None:
        self.service = service

    async def __aenter__(self) -> Any:
        await self.service.app.start()
        return self.service

    async def __aexit__(self, *_: object) -> None:
        await self.service.app.stop()


@pytest.fixture
async def mapping(nc: Client, nats_server: NatsServer) -> AsyncIterator[MappingService]:
    """The mapping service, in-process: the writer asks it for links."""
    config = parse_config({"nats": {"url": nats_server.url}})
    async with _Running(create_mapping(config)) as service:
        yield service


@pytest.fixture
def start_writer(
    nc: Client, nats_server: NatsServer, standin: MappingStandIn, jira_sim: JiraSim
) -> Callable[..., Any]:
    """``async with start_writer(retry=..., auth=...) as service``: the jira-writer running."""

    def start(**overrides: Any) -> _Running:
        return _Running(create_service(make_config(nats_server.url, jira_sim.url, **overrides)))

    return start


@pytest.fixture
async def jira_writer(
    mapping: MappingService, start_writer: Callable[..., Any]
) -> AsyncIterator[JiraWriterService]:
    async with start_writer() as service:
        yield service


async def send(
    nc: Client, command: CreateIssue | TransitionIssue, *, msg_id: str | None = None
) -> None:
    """Publish a command as the rules service does (Nats-Msg-Id = the command id)."""
    await nc.jetstream().publish(
        subjects.command_jira(command.instance, command.incident.incident_id),
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
        configure_logging("jira-writer", "debug")
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
