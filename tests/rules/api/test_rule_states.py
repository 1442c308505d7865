"""``pdjira rules list`` shows every rule, both kinds (the config's simple ``rules:`` and
PagerDuty-style), with its state: active, disabled, or refused with the problems (a config
rule the live catalogs refused is left out of every decision, and the list says so)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from nats.aio.client import Client
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.process import ManagedProcess
from pdjira_devstack.waiting import wait_until
from support.services import service_process

from .conftest import TOKEN, FakeWriters, base_config
from .test_cli import cli
from .test_loading import pd_rule


def typo_rule() -> dict[str, object]:
    rule = pd_rule("Typo")
    rule["config"]["react_on_issue_status_change_config"][0]["jira_statuses"] = [{"label": "Doen"}]
    return {"rule": rule}


@pytest.fixture
def config_file(tmp_path: Path, nats_server: NatsServer) -> Path:
    config = base_config(nats_server.url)
    config["rules_service"] = {"admin_token": "${env:PDJIRA_RULES_TOKEN}", "read_timeout": 2.0}
    port = free_port()
    config["listen"] = {"rules": {"host": "127.0.0.1", "port": port}}
    config["rules"] = [
        {
            "name": "simple-ops",
            "account": "acme",
            "instance": "dc1",
            "project": "OPS",
            "issue_type": "Task",
            "resolve_when_status": ["Done"],
            "create_on_trigger": False,  # the fake Jira requires a field on create
        }
    ]
    off = pd_rule("Off")
    off["enabled"] = False
    config["pagerduty_rules"] = [{"rule": pd_rule("Good")}, typo_rule(), {"rule": off}]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def rules_process(
    config_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nc: Client
) -> Iterator[ManagedProcess]:
    monkeypatch.setenv("PDJIRA_RULES_TOKEN", TOKEN)
    with service_process("rules", config_file, tmp_path, env={"PDJIRA_RULES_TOKEN": TOKEN}) as p:
        yield p


@pytest.fixture
def port(config_file: Path) -> int:
    listen: int = yaml.safe_load(config_file.read_text())["listen"]["rules"]["port"]
    return listen


async def test_every_rule_is_listed_with_its_kind_and_state(
    writers: FakeWriters,
    config_file: Path,
    port: int,
    rules_process: ManagedProcess,
    capsys: pytest.CaptureFixture[str],
) -> None:

    async def typo_refused() -> bool:
        async with httpx.AsyncClient() as http:
            answer = await http.get(
                f"http://127.0.0.1:{port}/rules",
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
        return any(r["pdjira"]["state"] == "refused" for r in answer.json()["rules"])

    await wait_until(typo_refused, timeout=20, what="the live check to refuse Typo")
    assert await cli(["rules", "list", "--config", str(config_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "cfg-simple-ops  acme/dc1  active    simple     $.rules[0]          simple-ops"
    )
    assert lines[1] == ("cfg-good  acme/dc1  active    pagerduty  $.pagerduty_rules[0]  Good")
    assert lines[2] == "cfg-typo  acme/dc1  refused   pagerduty  $.pagerduty_rules[1]  Typo"
    assert lines[3] == (
        "    refused: $.pagerduty_rules[1].rule.config.react_on_issue_status_change_config[0]"
        ".jira_statuses[0]: status 'Doen' does not exist; statuses: To Do, In Progress, Done"
    )
    assert lines[4] == "cfg-off  acme/dc1  disabled  pagerduty  $.pagerduty_rules[2]  Off"
    assert len(lines) == 5
