"""Liveness against a real nats-server: a NATS outage never makes a pod dead (readiness goes
503 instead), a broker connection loop that is dead for good does (Kubernetes then restarts the
pod)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from faststream.nats import NatsBroker
from pdjira_common.bus import make_broker
from pdjira_common.config import RetrySettings
from pdjira_common.health import LIVENESS_BOUND, Liveness, nats_state
from pdjira_common.service import service_app
from pdjira_common.streams import Topology
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_until


@contextlib.asynccontextmanager
async def connected(
    tmp_path: Path, *, stuck: bool = False
) -> AsyncIterator[tuple[NatsServer, NatsBroker, Liveness]]:
    """A nats-server and a broker connected to it, with its Liveness; both stopped after
    (`stuck`: the client is stuck on purpose, so stopping the broker may fail)."""
    server = NatsServer(tmp_path / "nats").start()
    broker = make_broker(server.url, consumer="svc", retry=RetrySettings())
    await broker.connect()
    live = Liveness("svc", broker)
    try:
        yield server, broker, live
    finally:
        if stuck:
            with contextlib.suppress(Exception):
                await broker.stop()
        else:
            await broker.stop()
        server.stop()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_long_nats_outage_is_not_ready_but_alive(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats").start()
    broker = make_broker(server.url, consumer="svc", retry=RetrySettings())
    clock = FakeClock()
    app = service_app(broker, topology=Topology(), name="svc")
    live = Liveness("svc", broker, clock=clock)
    transport = httpx.ASGITransport(app=app)
    try:
        async with app, httpx.AsyncClient(transport=transport, base_url="http://s") as http:
            assert live.check()[0] == 200
            server.stop()

            async def reconnecting() -> bool:
                return nats_state(broker) == "reconnecting"

            await wait_until(reconnecting, timeout=10, what="the client reconnecting")
            assert (await http.get("/health")).status_code == 503
            assert (await http.get("/live")).status_code == 200
            # Far beyond the bound: still trying, so still alive (no restart of every pod).
            for _ in range(3):
                clock.now += LIVENESS_BOUND * 2
                status, body = live.check()
                assert (status, body["checks"]["nats"]) == (200, "reconnecting")
            # NATS is back: the same client connects again, ready once more.
            server.start()

            async def ready() -> bool:
                return (await http.get("/health")).status_code == 200

            await wait_until(ready, timeout=30, what="ready again after the outage")
            assert (await http.get("/live")).status_code == 200
    finally:
        server.stop()


async def test_a_read_loop_that_died_is_dead_though_nats_py_says_connected(
    tmp_path: Path,
) -> None:
    """nats-py's read loop ends on any unexpected exception from the parser (it logs
    "encountered error" and stops) without closing or reconnecting: the client still says
    connected, but nothing is read any more. Only a restart helps."""
    async with connected(tmp_path) as (_, broker, live):
        client: Any = broker.connection
        assert live.check()[0] == 200

        async def broken_parse(data: bytes) -> None:
            raise RuntimeError("a bug in a message callback")

        client._ps.parse = broken_parse
        await client.publish("anything", b"x")
        # The server's next PING (or any inbound bytes) reaches the broken parser.
        await client._send_ping()

        async def loop_ended() -> bool:
            return bool(client._reading_task.done())

        await wait_until(loop_ended, timeout=10, what="the read loop ending")
        assert client.is_connected  # nats-py does not notice
        status, body = live.check()
        assert (status, body["status"], body["checks"]["nats"]) == (503, "dead", "loop_dead")


async def test_a_client_closed_for_good_is_dead(tmp_path: Path) -> None:
    async with connected(tmp_path) as (_, broker, live):
        assert live.check()[0] == 200
        await broker.connection.close()
        status, body = live.check()
        assert (status, body["checks"]["nats"]) == (503, "closed")


async def test_reconnect_loop_gone_while_reconnecting_is_dead(tmp_path: Path) -> None:
    async with connected(tmp_path, stuck=True) as (server, broker, live):
        client: Any = broker.connection
        server.stop()

        async def reconnecting() -> bool:
            return nats_state(broker) == "reconnecting"

        await wait_until(reconnecting, timeout=10, what="the client reconnecting")
        assert live.check()[0] == 200
        client._reconnection_task.cancel()
        await asyncio.wait([client._reconnection_task], timeout=5)
        assert client.is_reconnecting
        status, body = live.check()
        assert (status, body["checks"]["nats"]) == (503, "loop_dead")
