"""uvicorn for the simulators: starts and stops on signals, never on a polling tick.

Stock uvicorn checks for "should exit" every 100 ms and, when stopping, sleeps 100 ms and then
polls every 100 ms until the connections are gone. Tests start and stop simulators hundreds of
times, so here the main loop waits on an event (set by ``request_exit`` or SIGTERM/SIGINT) and
the shutdown waits on the connection set becoming empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from types import FrameType
from typing import TypeVar

import uvicorn
from starlette.types import ASGIApp

__all__ = ["SimulatorServer", "bound_socket", "serve"]

T = TypeVar("T")


class _WatchedSet(set[T]):
    """uvicorn's connection/task sets, telling when they become empty."""

    def __init__(self, on_empty: asyncio.Event) -> None:
        super().__init__()
        self._on_empty = on_empty

    def discard(self, item: object) -> None:
        super().discard(item)
        if not self:
            self._on_empty.set()

    def remove(self, item: T) -> None:
        super().remove(item)
        if not self:
            self._on_empty.set()


class SimulatorServer(uvicorn.Server):
    """A uvicorn server whose start, exit and shutdown are events, not ticks.

    ``signals=False`` leaves SIGINT/SIGTERM alone (several servers share a test's loop and
    Ctrl+C belongs to pytest); ``True`` is the command line: SIGTERM stops it gracefully.
    """

    def __init__(self, config: uvicorn.Config, *, signals: bool) -> None:
        super().__init__(config)
        self._signals = signals
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit = asyncio.Event()
        self._started = asyncio.Event()
        self._drained = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle signals

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        # uvicorn adds and discards connections and request tasks in these (set in __init__).
        self.server_state.connections = _WatchedSet(self._drained)
        self.server_state.tasks = _WatchedSet(self._drained)
        await super().startup(sockets)
        self._started.set()

    async def serve_embedded(self, sockets: list[socket.socket]) -> None:
        """``serve`` for a server sharing the caller's loop: uvicorn's ``sys.exit`` on a
        failed startup becomes a RuntimeError (a SystemExit would escape the event loop)."""
        try:
            await self.serve(sockets=sockets)
        except SystemExit as exc:
            raise RuntimeError(f"uvicorn exited with code {exc.code} while starting") from None

    async def wait_started(self, serving: asyncio.Task[None]) -> None:
        """Until the socket accepts requests; the startup error if ``serving`` ended first."""
        started = asyncio.ensure_future(self._started.wait())
        try:
            await asyncio.wait([started, serving], return_when=asyncio.FIRST_COMPLETED)
        finally:
            started.cancel()
        if not self._started.is_set():
            serving.result()  # raises the startup error, if there was one
            raise RuntimeError("uvicorn exited before starting")

    def request_exit(self) -> None:
        """Stop serving (from this loop or any other thread)."""
        self.should_exit = True
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._exit.set)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)  # a second signal forces the exit
        self.request_exit()
        if self.force_exit and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._drained.set)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if self._signals:
            with super().capture_signals():
                yield
        else:
            yield

    # ------------------------------------------------------------------ serving and stopping

    async def main_loop(self) -> None:
        """Serve until told to exit; refresh the Date header once a second meanwhile."""
        while not await self.on_tick(0):  # counter 0: on_tick refreshes the Date header
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit.wait(), timeout=1.0)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown without its fixed 100 ms pauses: close the listeners, ask each
        connection to close (idle ones close at once, busy ones after their response), wait
        until none is left, then the app's lifespan shutdown."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                while (self.server_state.connections or self.server_state.tasks) and not (
                    self.force_exit
                ):
                    self._drained.clear()
                    if self.server_state.connections or self.server_state.tasks:
                        await self._drained.wait()
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


def serve(app: ASGIApp, *, host: str, port: int, log_level: str) -> None:
    """What ``python -m pdjira_simulators.<vendor>`` runs: serve until SIGTERM/SIGINT."""
    # uvloop + httptools, as the services run (uvicorn's "auto" picks them only when they
    # happen to be installed); no access log.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        loop="uvloop",
        http="httptools",
        access_log=False,
    )
    SimulatorServer(config, signals=True).run()


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket bound before the server starts (so there is no race for it)."""
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP; with proto 0 every response waits ~40 ms for Nagle + delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock
