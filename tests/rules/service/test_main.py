"""``python -m pdjira_rules --config FILE`` as its own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import yaml
from nats.aio.client import Client
from pdjira_common import streams
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.waiting import wait_until
from support.services import service_process

from ..builders import incident_event
from .conftest import FakeMapping, publish_event, stream_messages


async def test_runs_decides_and_serves_health_and_metrics(
    tmp_path: Path, nats_server: NatsServer, nc: Client, mapping: FakeMapping
) -> None:
    port = free_port()
    config = {
        "nats": {"url": nats_server.url},
        "pagerduty_accounts": [{"id": "acme", "token": "t-abcdef", "from_email": "b@example.com"}],
        "jira_instances": [
            {"id": "dc1", "base_url": "jira.example.com", "auth": {"type": "token", "token": "p"},
             "webhook_secret": "s"}
        ],
        "rules": [
            {"name": "ops", "account": "acme", "instance": "dc1", "project": "OPS",
             "issue_type": "Task"}
        ],
        "listen": {"rules": {"host": "127.0.0.1", "port": port}},
    }  # fmt: skip
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    await mapping.start()
    with service_process("rules", path, tmp_path):
        await publish_event(nc, incident_event(), "e1")

        async def one_command() -> bool:
            return len(await stream_messages(nc, streams.COMMANDS)) == 1

        await wait_until(one_command, timeout=30.0, what="the CreateIssue", interval=0.05)
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        assert (
            'pdjira_rules_decisions_total{event_type="incident.triggered",matched="true"} 1.0'
            in (metrics)
        )
    assert '"event": "decided"' in (tmp_path / "rules.log").read_text()


def test_bad_config_exits_2_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "pagerduty_accounts: [{id: acme, token: x, from_email: y}]\n"
        "rules: [{name: r, account: nope, instance: dc1, project: OPS, issue_type: Task}]\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pdjira_rules", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "$.rules[0].account" in result.stderr
    assert "unknown account 'nope'" in result.stderr
