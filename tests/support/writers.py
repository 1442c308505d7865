"""What the jira-writer and pd-writer tests share: the outcomes they watch, the JSON logs they
read, a service running for one ``async with``, the simulators' admin calls both make, and the
signals they wait for. Their fixtures are in ``support.writer_fixtures``."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sized
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common.contracts import Outcome, decode_outcome
from starlette.applications import Starlette

__all__ = [
    "FAST_RETRY",
    "JsonLogs",
    "OutcomeWatcher",
    "Running",
    "SimulatorAdmin",
    "asked",
    "at_least",
]


# Retries in tests: soon and few (a command still gets several tries within a test's patience).
FAST_RETRY: dict[str, Any] = {
    "base_delay": 0.1,
    "max_delay": 0.5,
    "max_attempts": 6,
    "ack_wait": 5.0,
    "http_timeout": 2.0,
}


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


class JsonLogs:
    """The service's structlog JSON lines, as production writes them (to a buffer here)."""

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]


class _Service(Protocol):
    @property
    def app(self) -> Any: ...


class Running:
    """``async with Running(service) as service``: started, and stopped after."""

    def __init__(self, service: _Service) -> None:
        self.service = service

    async def __aenter__(self) -> Any:
        await self.service.app.start()
        return self.service

    async def __aexit__(self, *_: object) -> None:
        await self.service.app.stop()


class SimulatorAdmin:
    """A simulator's base URL plus the admin calls every writer test makes; ``app`` is the
    simulator itself when it runs in the test's process (``app.state.sim``)."""

    def __init__(self, url: str, http: httpx.AsyncClient, app: Starlette | None = None) -> None:
        self.url = url
        self.http = http
        self.app = app

    @property
    def sim(self) -> Any:
        assert self.app is not None, "the simulator does not run in this process"
        return self.app.state.sim

    async def all_requests(self) -> list[dict[str, Any]]:
        response = await self.http.get(f"{self.url}/_sim/requests")
        entries: list[dict[str, Any]] = response.json()["requests"]
        return entries

    async def faults(self, **faults: Any) -> None:
        (await self.http.put(f"{self.url}/_sim/faults", json=faults)).raise_for_status()

    async def clear_faults(self) -> None:
        (await self.http.delete(f"{self.url}/_sim/faults")).raise_for_status()

    async def ratelimit(self, **body: Any) -> None:
        (await self.http.put(f"{self.url}/_sim/ratelimit", json=body)).raise_for_status()


@asynccontextmanager
async def asked(nc: Client, subject: str) -> AsyncIterator[list[Msg]]:
    """The requests made on ``subject`` meanwhile: a second subscriber, so that whoever answers
    them still does (a signal that a service asked, e.g. looked a link up again)."""
    seen: list[Msg] = []

    async def record(msg: Msg) -> None:
        seen.append(msg)

    sub = await nc.subscribe(subject, cb=record)
    try:
        yield seen
    finally:
        await sub.unsubscribe()


def at_least(items: Sized, count: int) -> Callable[[], Awaitable[bool]]:
    """A ``wait_until`` probe: ``items`` has ``count`` or more."""

    async def probe() -> bool:
        return len(items) >= count

    return probe
