"""What nats-py does when the server ends the connection on a protocol error, and how a service
sees it (``health.nats_state``, for the liveness check)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats
import pytest
from pdjira_common.bus import close_client, make_broker
from pdjira_common.config import RetrySettings
from pdjira_common.health import nats_state
from pdjira_devstack.nats_server import NatsServer


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_nats_py_ends_closed_after_a_subject_longer_than_the_control_line(
    nats_server: NatsServer,
) -> None:
    """The upstream behaviour the liveness check relies on: no reconnect, closed for good."""
    events: list[str] = []

    async def on_closed() -> None:
        events.append("closed")

    async def on_reconnected() -> None:
        events.append("reconnected")

    client = await nats.connect(
        nats_server.url,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.1,
        closed_cb=on_closed,
        reconnected_cb=on_reconnected,
    )
    try:
        await client.publish("events.pd.acme." + "x" * 5000, b"{}")
        await _until(lambda: client.is_closed)  # closed is nats-py's final state
        assert events == ["closed"]
        with pytest.raises(nats.errors.ConnectionClosedError):
            await client.publish("events.pd.acme.PABC123", b"{}")
    finally:
        await close_client(client)


async def test_nats_state_follows_the_broker(nats_server: NatsServer) -> None:
    broker = make_broker(nats_server.url, consumer="test", retry=RetrySettings())
    assert nats_state(broker) == "not_connected"
    await broker.connect()
    try:
        assert nats_state(broker) == "connected"
        nats_server.stop()
        await _until(lambda: nats_state(broker) == "reconnecting")
        nats_server.start()
        await _until(lambda: nats_state(broker) == "connected", timeout=20.0)
        # A subject the server refuses closes the connection for good.
        await broker.connection.publish("a." + "x" * 5000, b"")
        await _until(lambda: nats_state(broker) == "closed")
    finally:
        await broker.stop()
