"""One process of the dev stack: started, waited on until healthy, killed, restarted, stopped;
and the plain answer when it dies while starting or never becomes healthy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port, wait_port
from pdjira_devstack.process import ManagedProcess


def http_server(tmp_path: Path, *, port: int, health_port: int | None = None) -> ManagedProcess:
    """``python -m http.server``: answers 200 on / once it listens."""
    return ManagedProcess(
        "web",
        "http.server",
        ["--bind", "127.0.0.1", "--directory", str(tmp_path), str(port)],
        health_url=f"http://127.0.0.1:{health_port or port}/",
        log_file=tmp_path / "logs" / "web.log",
    )


@pytest.fixture
def web(tmp_path: Path) -> Iterator[ManagedProcess]:
    process = http_server(tmp_path, port=free_port())
    try:
        yield process
    finally:
        process.stop()


def test_start_wait_healthy_kill_restart_stop(web: ManagedProcess) -> None:
    web.start().wait_healthy(timeout=30)
    assert web.running
    first = web.pid
    assert httpx.get(web.health_url).status_code == 200

    web.kill()  # SIGKILL, as a crash
    assert not web.running
    web.restart()
    assert web.running
    assert web.pid != first
    assert httpx.get(web.health_url).status_code == 200

    web.stop()
    assert not web.running


async def test_waiting_for_health_works_from_inside_an_event_loop(web: ManagedProcess) -> None:
    web.start().wait_healthy(timeout=30)  # an async test calling the sync API
    await web.healthy(timeout=5)
    assert web.running


def test_a_process_that_exits_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    process = ManagedProcess(
        "zen",
        "this",  # prints the Zen of Python and exits
        [],
        health_url=f"http://127.0.0.1:{free_port()}/health",
        log_file=tmp_path / "zen.log",
    )
    process.start()
    with pytest.raises(RuntimeError, match="zen exited with code 0 while starting") as exited:
        process.wait_healthy(timeout=30)
    assert "Beautiful is better than ugly." in str(exited.value)


def test_a_process_never_healthy_is_reported_with_the_last_error(tmp_path: Path) -> None:
    process = http_server(tmp_path, port=free_port(), health_port=free_port())
    process.start()
    try:
        with pytest.raises(RuntimeError, match=r"web not healthy at .* after 0.3s \(Connect"):
            process.wait_healthy(timeout=0.3)
        assert process.running
    finally:
        process.stop()
    assert not process.running


def test_nats_server_starts_listens_and_can_be_killed(tmp_path: Path) -> None:
    server = NatsServer(tmp_path / "nats", log_file=tmp_path / "nats.log").start()
    try:
        assert server.running
        assert wait_port(server.port, timeout=1)
        assert server.url == f"nats://127.0.0.1:{server.port}"
        server.kill()
        assert not server.running
        server.start()  # the same store and port again
        assert server.running
    finally:
        server.stop()
    assert not server.running
    assert not wait_port(server.port, timeout=0.2)
