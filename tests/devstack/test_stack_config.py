"""The configuration the dev stack writes: what pdjira accepts, secrets only by reference."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pdjira_common.config import parse_config
from pdjira_devstack.stack import SERVICES, Stack, StackSettings


def test_the_written_config_is_valid_and_wires_every_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = Stack(tmp_path / "stack", StackSettings(ack_wait=3.0, base_delay=0.2))
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    text = stack.write_config().read_text()
    for secret in stack.env.values():
        assert secret not in text  # ${env:...} references only
    config = parse_config(yaml.safe_load(text))
    assert config.nats.url == stack.nats.url
    assert config.retry.ack_wait == 3.0
    ports = {getattr(config.listen, key).port for _, key in SERVICES.values()}
    assert len(ports) == len(SERVICES)
    assert len(set(stack.ports.values())) == len(stack.ports)  # services and simulators
    [account] = config.pagerduty_accounts
    assert account.api_url == stack.pd_url
    assert stack.url("ingest").endswith(str(stack.ports["ingest"]))
