"""Readiness and liveness, the same on every service.

Every answer has the same shape: ``{"status": ..., "service": NAME, "checks": {...},
"version": "0.1.0"}`` (``version``: the pdjira release the process runs).

``GET /health`` (readiness): ``200 {"status": "ok", "service": NAME, "checks": {"nats":
"connected", "startup": "done"}, "version": ...}`` when the service takes work; ``503`` with
``"status": "unavailable"`` when it does not: NATS not connected (``reconnecting``,
``disconnected``, ``closed``, ``not_connected``) or not answering a ping (``unresponsive``),
or its start (the topology declared, the subscribers started) not done yet
(``"startup": "pending"``).

``GET /live`` (liveness): ``503`` with ``"status": "dead"`` only when the service's broker
connection loop is dead, i.e. it cannot get better by itself: its NATS client is closed for good
(``"nats": "closed"``), a task that runs the connection ended while the client still claims to
be connected or reconnecting (``"nats": "loop_dead"``: the read loop or the flusher of a
connected client, the reconnect loop of a reconnecting one), or it is neither connected nor
trying to reconnect for longer than ``bound`` seconds (never connected, or disconnected without
a reconnect loop). Anything else is ``200 "ok"``, a client that is reconnecting included, however
long the NATS outage lasts: restarting every pod would not bring NATS back sooner (readiness is
``503`` meanwhile). An event loop that is stuck (a handler blocking it) answers no probe at all:
the kubelet's probe timeout counts as a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any

import msgspec
from faststream.exceptions import IncorrectState
from faststream.nats import NatsBroker
from nats.aio.client import Client

__all__ = [
    "LIVENESS_BOUND",
    "LIVENESS_PATH",
    "READINESS_PATH",
    "VERSION",
    "Liveness",
    "connection_loop_dead",
    "json_asgi",
    "nats_state",
    "readiness",
    "with_liveness",
]

READINESS_PATH = "/health"
LIVENESS_PATH = "/live"
LIVENESS_BOUND = 120.0  # seconds neither connected nor reconnecting: the service is dead


def _version() -> str:
    try:
        return metadata.version("pdjira-common")
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


VERSION = _version()

Probe = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]
Clock = Callable[[], float]


def _client(broker: NatsBroker) -> Client | None:
    try:
        client: Client = broker.connection
    except IncorrectState:  # not connected yet
        return None
    return client


def nats_state(broker: NatsBroker) -> str:
    """``connected``, ``reconnecting``, ``disconnected``, ``closed`` or ``not_connected`` (the
    broker has not connected yet).

    ``closed`` is for good: nats-py does not reconnect after the server ends the connection with
    a protocol error (``-ERR 'maximum control line exceeded'``, ``'Authorization Violation'``):
    it closes the client whatever ``max_reconnect_attempts`` says, and every later publish raises
    ``ConnectionClosedError``. Only a lost socket or a stale connection is reconnected. A service
    whose client is closed must be restarted: liveness fails on it."""
    client = _client(broker)
    if client is None:
        return "not_connected"
    if client.is_closed:
        return "closed"
    if client.is_connected:
        return "connected"
    if client.is_reconnecting:
        return "reconnecting"
    return "disconnected"


def _task_ended(client: Client, name: str) -> bool:
    task: asyncio.Task[Any] | None = getattr(client, name, None)
    return task is None or task.done()


def connection_loop_dead(client: Client) -> bool:
    """A task that runs the connection has ended while the client's state says it is still in
    use: a connected client whose read loop or flusher is gone (nothing is read or sent any
    more, yet nats-py reports ``connected``), or a reconnecting client whose reconnect loop is
    gone (it will never connect again, yet is not ``closed``). Such a client never recovers."""
    if client.is_closed:
        return False
    if client.is_connected:
        return _task_ended(client, "_reading_task") or _task_ended(client, "_flusher_task")
    if client.is_reconnecting:
        return _task_ended(client, "_reconnection_task")
    return False


async def _answers(broker: NatsBroker, timeout: float) -> bool:
    """The server answers a JetStream API request within ``timeout``: a server that stopped
    answering still looks connected to nats-py until its own ping interval notices (minutes).
    Not ``flush()``: a PONG that comes after its flush timed out breaks nats-py's read loop."""
    client = _client(broker)
    if client is None:
        return False
    try:
        await client.request("$JS.API.INFO", b"", timeout=timeout)
    except Exception:  # timeout, no responders, or the connection went meanwhile
        return False
    return True


async def readiness(
    service: str, broker: NatsBroker, *, started: bool = True, ping_timeout: float = 1.0
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of ``/health``; ``started``: the service's start is done."""
    state = nats_state(broker)
    if state == "connected" and not await _answers(broker, ping_timeout):
        state = "unresponsive"
    ready = state == "connected" and started
    body = {
        "status": "ok" if ready else "unavailable",
        "service": service,
        "checks": {"nats": state, "startup": "done" if started else "pending"},
        "version": VERSION,
    }
    return (200 if ready else 503), body


class Liveness:
    """``/live`` of one service: dead when its NATS client is closed, when its connection loop
    is dead (:func:`connection_loop_dead`), or when it has been neither connected nor
    reconnecting for ``bound`` seconds (counted from the first probe that saw it so, or from
    creation when it never connected). A reconnecting client stays alive however long."""

    def __init__(
        self,
        service: str,
        broker: NatsBroker,
        *,
        bound: float = LIVENESS_BOUND,
        clock: Clock = time.monotonic,
    ) -> None:
        self.service = service
        self.broker = broker
        self.bound = bound
        self._clock = clock
        self._down_since: float | None = clock()

    def check(self) -> tuple[int, dict[str, Any]]:
        state = nats_state(self.broker)
        client = _client(self.broker)
        if client is not None and connection_loop_dead(client):
            state = "loop_dead"
        now = self._clock()
        if state in ("connected", "reconnecting"):
            self._down_since = None  # working, or trying to: never dead for being slow
        elif self._down_since is None:
            self._down_since = now
        down_for = 0.0 if self._down_since is None else now - self._down_since
        dead = state in ("closed", "loop_dead") or down_for > self.bound
        checks: dict[str, Any] = {"nats": state}
        if self._down_since is not None:
            checks["nats_down_seconds"] = round(down_for, 1)
        body = {
            "status": "dead" if dead else "ok",
            "service": self.service,
            "checks": checks,
            "version": VERSION,
        }
        return (503 if dead else 200), body

    async def __call__(self) -> tuple[int, dict[str, Any]]:
        return self.check()


def json_asgi(probe: Probe) -> Any:
    """An ASGI app answering every request with ``probe()``'s status and JSON body."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        status, body = await probe()
        payload = msgspec.json.encode(body)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    return app


def with_liveness(app: Any, liveness: Liveness, path: str = LIVENESS_PATH) -> Any:
    """``app`` with ``GET path`` answered by ``liveness`` (for apps that route themselves)."""
    live = json_asgi(liveness)

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") == path:
            await live(scope, receive, send)
        else:
            await app(scope, receive, send)

    return wrapped
