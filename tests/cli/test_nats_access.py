"""How the CLI's JetStream commands (``dlq``, ``audit``) find NATS, and say plainly when it is not
there: at once for a refused connection, after one short wait for a server that is silent."""

from __future__ import annotations

import argparse
import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from nats.js import JetStreamContext
from pdjira_cli import nats_access
from pdjira_cli.nats_access import DEFAULT_URL, add_nats_options, nats_url, with_jetstream
from pdjira_common.config import ConfigError
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_nats_options(parser)
    return parser.parse_args(argv)


def test_the_url_comes_from_the_flag_the_config_the_environment_or_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PDJIRA_NATS_URL", raising=False)
    assert nats_url(parsed()) == DEFAULT_URL
    monkeypatch.setenv("PDJIRA_NATS_URL", "nats://env:4222")
    assert nats_url(parsed()) == "nats://env:4222"
    assert nats_url(parsed("--nats", "nats://flag:4222")) == "nats://flag:4222"
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"nats": {"url": "nats://config:4222"}}))
    assert nats_url(parsed("--config", str(config))) == "nats://config:4222"
    with pytest.raises(SystemExit):  # one or the other
        parsed("--config", str(config), "--nats", "nats://flag:4222")


async def test_work_runs_with_jetstream_when_nats_is_there(nats_server: NatsServer) -> None:
    async def account_streams(js: JetStreamContext) -> int:
        return (await js.account_info()).streams

    assert await with_jetstream(nats_server.url, account_streams) == 0


async def test_a_refused_connection_is_said_at_once() -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ConfigError) as refused:
        await with_jetstream(url, lambda js: asyncio.sleep(0))
    # No reconnect loop: nats-py would otherwise retry every 2 s, 60 times.
    assert time.monotonic() - started < nats_access.CONNECT_TIMEOUT
    message = str(refused.value)
    assert f"cannot connect to NATS at {url}: ConnectionRefusedError" in message
    assert "is nats-server running" in message


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts TCP connections and never says a word (no NATS INFO)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"nats://127.0.0.1:{sock.getsockname()[1]}"


async def test_a_silent_server_is_given_up_after_one_short_wait(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nats_access, "CONNECT_TIMEOUT", 0.2)
    started = time.monotonic()
    with pytest.raises(ConfigError, match="TimeoutError; is nats-server running"):
        await with_jetstream(silent_server, lambda js: asyncio.sleep(0))
    assert time.monotonic() - started < 2.0  # the 0.2 s connect timeout, not a minute of retries
