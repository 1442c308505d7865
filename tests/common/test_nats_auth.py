"""A nats-server that wants a user and password: the services' broker (make_broker) and the CLI
log in with the credentials of the config, and the password shows up in no log line and no CLI
output (also when it is given in the URL, and when the login fails)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import nats.errors
import nkeys
import pytest
import yaml
from nats.js import JetStreamContext
from pdjira_cli.main import main as cli
from pdjira_cli.nats_access import with_jetstream
from pdjira_common.bus import jetstream, make_broker, nats_client
from pdjira_common.config import ConfigError, NatsSettings, RetrySettings, parse_config
from pdjira_common.streams import Topology, ensure_topology
from pdjira_devstack.nats_server import NatsServer

USER = "pdjira"
PASSWORD = "n4ts-Pa55word-xyz"


@pytest.fixture
def auth_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(
        tmp_path / "nats", log_file=tmp_path / "nats.log", user=USER, password=PASSWORD
    ).start()
    try:
        yield server
    finally:
        server.stop()


def _config_file(tmp_path: Path, nats: dict[str, object]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"nats": nats}))
    return path


async def test_the_broker_logs_in_with_the_configured_user_and_password(
    auth_server: NatsServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # structlog as the suite configures it (no redaction): the password must not even be there.
    monkeypatch.setenv("PDJIRA_NATS_PASSWORD", PASSWORD)
    config = parse_config(
        {"nats": {"url": auth_server.url, "user": USER, "password": "${env:PDJIRA_NATS_PASSWORD}"}}
    )
    broker = make_broker(config.nats, consumer="auth-test", retry=RetrySettings())
    try:
        await broker.connect()
        await ensure_topology(jetstream(broker), Topology())
        assert nats_client(broker).is_connected
        ack = await broker.publish(b"{}", "events.pd.main.P1", stream="EVENTS")
        assert ack.seq >= 1
    finally:
        await broker.stop()
    out = capsys.readouterr()
    assert PASSWORD not in out.out + out.err + caplog.text


async def test_credentials_in_the_url_work_and_are_never_shown(
    auth_server: NatsServer, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = auth_server.url.replace("nats://", f"nats://{USER}:{PASSWORD}@")
    await _logs_in(parse_config({"nats": {"url": url}}).nats)
    out = capsys.readouterr()
    assert PASSWORD not in out.out + out.err + caplog.text


async def test_the_cli_logs_in_from_the_config(auth_server: NatsServer, tmp_path: Path) -> None:
    config = _config_file(tmp_path, {"url": auth_server.url, "user": USER, "password": PASSWORD})

    async def streams(js: JetStreamContext) -> int:
        return (await js.account_info()).streams

    settings = parse_config(yaml.safe_load(config.read_text())).nats
    assert await with_jetstream(settings, streams) == 0


async def test_a_refused_login_is_said_without_the_password(auth_server: NatsServer) -> None:
    url = auth_server.url.replace("nats://", f"nats://{USER}:wrong-{PASSWORD}@")
    with pytest.raises(ConfigError) as refused:
        await with_jetstream(url, lambda js: js.account_info())
    message = str(refused.value)
    assert PASSWORD not in message
    assert "nats://***@127.0.0.1" in message


def test_cli_output_never_shows_the_password(
    auth_server: NatsServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _config_file(tmp_path, {"url": auth_server.url, "user": USER, "password": PASSWORD})
    # Logged in: the DLQ stream is not declared on this fresh server, which the CLI says.
    cli(["dlq", "list", "--config", str(good)])
    wrong_url = auth_server.url.replace("nats://", f"nats://{USER}:{PASSWORD}-not@")
    status = cli(["dlq", "list", "--nats", wrong_url])
    out = capsys.readouterr()
    assert status != 0
    assert "cannot connect to NATS at nats://***@127.0.0.1" in out.err
    assert "refused the login" in out.err
    assert PASSWORD not in out.out + out.err


async def test_the_broker_logs_in_with_a_token(tmp_path: Path) -> None:
    token = "t0ken-for-nats-4422"
    with NatsServer(tmp_path / "nats", token=token) as server:
        refused = make_broker(
            parse_config({"nats": {"url": server.url}}).nats, consumer="t", retry=RetrySettings()
        )
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats_client_connected(refused)
        await _logs_in(parse_config({"nats": {"url": server.url, "token": token}}).nats)


async def test_the_broker_logs_in_with_an_nkey_seed_file(tmp_path: Path) -> None:
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    seed_file = tmp_path / "user.nk"
    seed_file.write_bytes(seed)
    with NatsServer(tmp_path / "nats", nkey=public) as server:
        config = parse_config({"nats": {"url": server.url, "nkey_seed_file": str(seed_file)}})
        broker = make_broker(config.nats, consumer="auth-test", retry=RetrySettings())
        try:
            await broker.connect()
            assert nats_client(broker).is_connected
            ack = await broker.publish(b"{}", "anything", timeout=2.0)
            assert ack is None  # core publish on an authenticated connection
        finally:
            await broker.stop()
        settings = parse_config({"nats": {"url": server.url, "nkey_seed_file": str(seed_file)}})
        assert await with_jetstream(settings.nats, lambda js: _stream_count(js)) == 0


async def _stream_count(js: JetStreamContext) -> int:
    return (await js.account_info()).streams


async def nats_client_connected(broker: object) -> None:
    connect = broker.connect  # type: ignore[attr-defined]
    try:
        await asyncio.wait_for(connect(), timeout=5.0)
    finally:
        await broker.stop()  # type: ignore[attr-defined]


async def _logs_in(settings: NatsSettings) -> None:
    """A service's broker made from ``settings`` connects (the server took the login)."""
    broker = make_broker(settings, consumer="auth-test", retry=RetrySettings())
    try:
        await broker.connect()
        assert nats_client(broker).is_connected
    finally:
        await broker.stop()
