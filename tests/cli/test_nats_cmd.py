"""``pdjira nats bootstrap`` on a real nats-server: every stream and bucket the services use
exists afterwards, as the config's nats section says; a second run changes nothing; an
unreachable server is said plainly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from nats.aio.client import Client
from pdjira_cli.main import main
from pdjira_common.streams import Topology, kv_configs, stream_configs
from pdjira_devstack.nats_server import NatsServer


def write_config(tmp_path: Path, url: str, partitions: int) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"nats": {"url": url, "partitions": partitions}}))
    return path


async def test_bootstrap_declares_every_stream_and_bucket(
    nats_server: NatsServer, nc: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, nats_server.url, partitions=4)
    for _ in range(2):  # idempotent: the second run finds everything and keeps it
        code = await asyncio.to_thread(main, ["nats", "bootstrap", "--config", str(config)])
        assert code == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    js = nc.jetstream()
    topology = Topology(partitions=4)
    for stream in stream_configs(topology):
        info = await js.stream_info(stream.name or "")
        assert info.config.num_replicas == 1
        assert f"stream {stream.name}" in out
    for kv in kv_configs(topology):
        await js.key_value(kv.bucket)
        assert f"kv {kv.bucket}" in out
    assert "partitions 4" in out


def test_bootstrap_says_when_nats_is_not_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, "nats://127.0.0.1:1", partitions=8)
    assert main(["nats", "bootstrap", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "cannot connect to NATS at nats://127.0.0.1:1" in err
    assert "is nats-server running" in err
