"""``python -m pdjira_ingest --config FILE`` as its own process, as it runs in production."""

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
from support.services import service_process

from .payloads import pd_envelope, pd_incident, pd_signature, to_body

SECRET = "process-test-secret-1234"


async def test_serves_signed_webhooks_and_logs_json(
    tmp_path: Path, nats_server: NatsServer, nc: Client
) -> None:
    port = free_port()
    config = {
        "nats": {"url": nats_server.url},
        "pagerduty_accounts": [
            {
                "id": "acme",
                "token": "${env:PD_TOKEN}",
                "from_email": "bot@example.com",
                "webhook_secrets": ["${env:PD_WEBHOOK_SECRET}"],
            }
        ],
        "listen": {"ingest": {"host": "127.0.0.1", "port": port}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {"PD_TOKEN": "token-abcdef", "PD_WEBHOOK_SECRET": SECRET}
    with service_process("ingest", path, tmp_path, env=env):
        body = to_body(pd_envelope("incident.triggered", pd_incident()))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            ok = await http.post(
                "/webhooks/pagerduty/acme",
                content=body,
                headers={"X-PagerDuty-Signature": pd_signature(body, SECRET)},
            )
            bad = await http.post(
                "/webhooks/pagerduty/acme", content=body, headers={"X-PagerDuty-Signature": "v1=00"}
            )
        assert (ok.status_code, bad.status_code) == (202, 401)
        info = await nc.jetstream().stream_info(streams.EVENTS)
        assert info.state.messages == 1
    log = (tmp_path / "ingest.log").read_text()
    assert '"event": "webhook_rejected"' in log
    assert '"service": "ingest"' in log
    assert SECRET not in log


def test_bad_config_exits_2_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("pagerduty_accounts: [{id: 'bad id!', token: x, from_email: y}]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pdjira_ingest", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "pagerduty_accounts[0].id" in result.stderr
