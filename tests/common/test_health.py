"""/health (readiness) and /live (liveness) answer the same shape on every service."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from pdjira_common.bus import make_broker
from pdjira_common.config import RetrySettings
from pdjira_common.health import VERSION, Liveness, json_asgi, readiness, with_liveness
from pdjira_common.service import service_app
from pdjira_common.streams import Topology
from pdjira_devstack.nats_server import NatsServer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_not_connected_yet_is_not_ready_but_alive_for_a_while() -> None:
    broker = make_broker("nats://127.0.0.1:1", consumer="x", retry=RetrySettings())
    status, body = await readiness("x", broker)
    assert status == 503
    assert body == {
        "status": "unavailable",
        "service": "x",
        "checks": {"nats": "not_connected", "startup": "done"},
        "version": VERSION,
    }
    clock = FakeClock()
    live = Liveness("x", broker, bound=120.0, clock=clock)
    assert live.check()[0] == 200
    clock.now += 121
    status, body = live.check()
    assert status == 503
    assert body["status"] == "dead"
    assert body["checks"]["nats"] == "not_connected"


async def test_service_app_health_and_live(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats").start()
    broker = make_broker(server.url, consumer="svc", retry=RetrySettings())
    app = service_app(broker, topology=Topology(), name="svc")
    transport = httpx.ASGITransport(app=app)
    try:
        async with app, httpx.AsyncClient(transport=transport, base_url="http://s") as http:
            health = await http.get("/health")
            live = await http.get("/live")
            assert health.status_code == 200, health.text
            assert health.json() == {
                "status": "ok",
                "service": "svc",
                "checks": {"nats": "connected", "startup": "done"},
                "version": VERSION,
            }
            assert live.status_code == 200
            assert live.json() == {
                "status": "ok",
                "service": "svc",
                "checks": {"nats": "connected"},
                "version": VERSION,
            }
            server.stop()  # NATS goes away: not ready, but alive (the client reconnects)
            for _ in range(100):
                health = await http.get("/health")
                if health.json()["checks"]["nats"] != "connected":
                    break
                await asyncio.sleep(0.05)
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable"
            assert health.json()["checks"]["nats"] in (
                "reconnecting",
                "disconnected",
                "unresponsive",
            )
            assert (await http.get("/live")).status_code == 200
            await broker.connection.close()  # closed for good: dead
            live = await http.get("/live")
            assert live.status_code == 503
            assert live.json()["status"] == "dead"
            assert live.json()["checks"]["nats"] == "closed"
    finally:
        server.stop()


async def test_a_server_that_stopped_answering_is_not_ready(tmp_path: Path) -> None:
    """A hung nats-server (SIGSTOP) still looks connected to nats-py until its ping interval
    runs out; readiness asks the server (PING/PONG) and says "unresponsive" at once."""
    server = NatsServer(tmp_path / "nats").start()
    broker = make_broker(server.url, consumer="svc", retry=RetrySettings())
    await broker.connect()
    try:
        assert (await readiness("svc", broker))[0] == 200
        server.pause()
        status, body = await readiness("svc", broker, ping_timeout=0.5)
        assert (status, body["checks"]["nats"]) == (503, "unresponsive")
        server.resume()
        assert (await readiness("svc", broker))[0] == 200
    finally:
        server.resume()
        await broker.stop()
        server.stop()


async def test_with_liveness_serves_live_and_passes_the_rest_on() -> None:
    async def other(scope: object, receive: object, send: object) -> None:
        await json_asgi(_answer)(scope, receive, send)

    broker = make_broker("nats://127.0.0.1:1", consumer="ingest", retry=RetrySettings())
    app = with_liveness(other, Liveness("ingest", broker))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://i") as http:
        live = await http.get("/live")
        rest = await http.get("/health")
    assert live.json()["service"] == "ingest"
    assert rest.json() == {"other": True}


async def _answer() -> tuple[int, dict[str, object]]:
    return 200, {"other": True}
