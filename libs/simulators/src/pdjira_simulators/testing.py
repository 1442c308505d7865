"""Helpers for tests: serve any ASGI app on a free port, and a recording webhook receiver.

Both run uvicorn in the caller's event loop, so a test gets real sockets and real HTTP without
subprocesses:

    async with running_server(create_app(settings)) as base_url: ...
    async with WebhookReceiver() as rx:  # rx.url, rx.received, await rx.wait_for(n)
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from pdjira_simulators.common.server import SimulatorServer, bound_socket
from pdjira_simulators.common.signing import hmac_sha256_hex

__all__ = [
    "ReceivedWebhook",
    "WebhookReceiver",
    "free_port",
    "running_server",
    "verify_jira_signature",
    "verify_pagerduty_signature",
]


def free_port() -> int:
    """A port that was free a moment ago (prefer running_server, which keeps the socket)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_server(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve `app` with uvicorn in this event loop; yields the base URL (no trailing slash).

    The listening socket is bound before uvicorn starts, so there is no race for the port; the
    server is up when this yields and gone (connections closed, lifespan shut down) when it
    returns, with no polling in between.
    """
    sock = bound_socket(host, port)
    actual_port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False)
    server = SimulatorServer(config, signals=False)
    task = asyncio.get_running_loop().create_task(server.serve_embedded([sock]))
    try:
        await server.wait_started(task)
        yield f"http://{host}:{actual_port}"
    finally:
        server.request_exit()
        try:
            await asyncio.wait_for(task, timeout=10)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
        sock.close()


@dataclass(frozen=True, slots=True)
class ReceivedWebhook:
    """One request as the receiver got it: raw body kept for signature checks."""

    headers: dict[str, str]
    body: bytes
    path: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def verify_pagerduty_signature(secret: str, body: bytes, header: str | None) -> bool:
    """What a v3 receiver does: any `v1=` entry that matches is good."""
    expected = f"v1={hmac_sha256_hex(secret, body)}"
    return header is not None and expected in [part.strip() for part in header.split(",")]


def verify_jira_signature(secret: str, body: bytes, header: str | None) -> bool:
    return header == f"sha256={hmac_sha256_hex(secret, body)}"


@dataclass
class WebhookReceiver:
    """A webhook endpoint on a free port that records every request.

    `statuses` answers the first requests with those codes (e.g. `[500]` = fail once), then
    `default_status`; `handler` may decide per request instead.
    """

    statuses: Sequence[int] = ()
    default_status: int = 200
    handler: Callable[[ReceivedWebhook], int] | None = None
    received: list[ReceivedWebhook] = field(default_factory=list)
    url: str = ""
    base_url: str = ""
    _served: int = 0
    _stack: Any = None
    _arrived: asyncio.Condition | None = None

    async def __aenter__(self) -> WebhookReceiver:
        self._arrived = asyncio.Condition()
        app = Starlette(routes=[Route("/{path:path}", self._receive, methods=["POST"])])
        self._stack = running_server(app)
        base = await self._stack.__aenter__()
        self.url = f"{base}/webhook"
        self.base_url = base
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.__aexit__(*exc)

    async def _receive(self, request: Request) -> Response:
        hook = ReceivedWebhook(
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            path=request.url.path,
        )
        self.received.append(hook)
        if self.handler is not None:
            status = self.handler(hook)
        elif self._served < len(self.statuses):
            status = self.statuses[self._served]
        else:
            status = self.default_status
        self._served += 1
        assert self._arrived is not None
        async with self._arrived:
            self._arrived.notify_all()
        return Response(status_code=status)

    def bodies(self) -> list[Any]:
        return [r.json() for r in self.received]

    async def wait_for(
        self,
        count: int,
        *,
        within: float = 10.0,
        predicate: Callable[[ReceivedWebhook], bool] | None = None,
    ) -> list[ReceivedWebhook]:
        """Wait until at least `count` requests (matching `predicate`) arrived."""
        assert self._arrived is not None

        def matching() -> list[ReceivedWebhook]:
            return [r for r in self.received if predicate is None or predicate(r)]

        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(matching()) >= count)
        return matching()
