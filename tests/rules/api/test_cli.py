"""``pdjira rules ...`` against the rules service as its own process (real wiring: config
rules seeded, API on listen.rules, catalogs from fake writers on the test's NATS)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from nats.aio.client import Client
from pdjira_cli.main import main
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.process import ManagedProcess
from support.services import service_process

from .conftest import TOKEN, FakeWriters, base_config
from .test_loading import pd_rule


async def cli(argv: list[str]) -> int:
    """The CLI in a thread: the fake writers answer from this test's loop."""
    return await asyncio.to_thread(main, argv)


@pytest.fixture
def config_file(tmp_path: Path, nats_server: NatsServer) -> Path:
    config = base_config(nats_server.url)
    config["rules_service"] = {"admin_token": "${env:PDJIRA_RULES_TOKEN}", "read_timeout": 2.0}
    config["listen"] = {"rules": {"host": "127.0.0.1", "port": free_port()}}
    config["pagerduty_rules"] = [{"rule": pd_rule("From config")}]
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
    assert TOKEN not in (tmp_path / "rules.log").read_text()


def write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data) if path.suffix == ".json" else yaml.safe_dump(data))
    return path


async def test_rules_commands(
    writers: FakeWriters,
    config_file: Path,
    rules_process: ManagedProcess,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = ["--config", str(config_file)]
    assert await cli(["rules", "list", *cfg]) == 0
    out = capsys.readouterr().out
    assert (
        "cfg-from-config  acme/dc1  active    pagerduty  $.pagerduty_rules[0]  From config" in out
    )

    # validate: the config itself is fine; a config with a typo'd status is not
    assert await cli(["rules", "validate", str(config_file), *cfg]) == 0
    assert "1 rules OK" in capsys.readouterr().out
    bad = pd_rule("Bad")
    bad["config"]["react_on_issue_status_change_config"][0]["jira_statuses"] = [{"label": "Doen"}]
    bad_config = write(
        tmp_path / "bad.yaml", {"pagerduty_rules": [{"rule": pd_rule()}, {"rule": bad}]}
    )
    assert await cli(["rules", "validate", str(bad_config), *cfg]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "$.pagerduty_rules[1].rule.config.react_on_issue_status_change_config[0]"
        ".jira_statuses[0]: status 'Doen' does not exist; statuses: To Do, In Progress, Done"
    ]
    bare = write(tmp_path / "bare.json", bad)  # a bare rule: paths without ".rule"
    assert await cli(["rules", "validate", str(bare), *cfg]) == 1
    assert capsys.readouterr().out.startswith(
        "$.config.react_on_issue_status_change_config[0].jira_statuses[0]: status 'Doen'"
    )

    # import PagerDuty exports: {"rule": ...} and {"rules": [...]}, ids printed
    exported = pd_rule("Imported") | {"id": "PRULE01", "html_url": "https://pd/rules/PRULE01"}
    one = write(tmp_path / "one.json", {"rule": exported})
    assert await cli(["rules", "import", str(one), *cfg, "--account", "acme"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    new_id, name = line.split("  ")
    assert name == "Imported"
    assert new_id.startswith("R")
    many = write(tmp_path / "many.json", {"rules": [pd_rule("Second"), bad]})
    assert await cli(["rules", "import", str(many), *cfg]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].endswith("  Second")
    assert lines[1] == "$.rules[1] (Bad): Invalid Input Provided (400)"
    assert lines[2] == (
        "  $.rules[1].config.react_on_issue_status_change_config[0].jira_statuses[0]: status "
        "'Doen' does not exist; statuses: To Do, In Progress, Done"
    )
    assert "1 of 2 rules not imported" in captured.err

    assert await cli(["rules", "list", *cfg]) == 0
    listed = capsys.readouterr().out
    assert [ln.split()[-1] for ln in listed.splitlines()] == ["config", "Imported", "Second"]

    assert await cli(["rules", "delete", new_id, *cfg]) == 0
    assert f"deleted {new_id}" in capsys.readouterr().out
    assert await cli(["rules", "delete", new_id, *cfg]) == 2
    assert "rules API answered 404: Record not found" in capsys.readouterr().err
    assert await cli(["rules", "list", *cfg]) == 0
    assert "Imported" not in capsys.readouterr().out

    # a writer that is down: the CLI says which one
    await writers.stop()
    assert await cli(["rules", "validate", str(config_file), *cfg]) == 2
    assert "jira-writer for instance dc1 did not answer" in capsys.readouterr().err


async def test_wrong_token_and_no_service(
    config_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PDJIRA_RULES_TOKEN", TOKEN)
    assert await cli(["rules", "list", "--config", str(config_file)]) == 3
    assert "cannot reach the rules service" in capsys.readouterr().err
    config = yaml.safe_load(await asyncio.to_thread(config_file.read_text))
    del config["rules_service"]["admin_token"]
    no_token = write(tmp_path / "no-token.yaml", config)
    assert await cli(["rules", "list", "--config", str(no_token)]) == 2
    assert "rules_service.admin_token is not set" in capsys.readouterr().err


async def test_validate_checks_the_simple_rules_of_a_config_too(
    writers: FakeWriters,
    config_file: Path,
    rules_process: ManagedProcess,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    writers.required = {}
    cfg = ["--config", str(config_file)]
    simple = {"name": "ops", "account": "acme", "instance": "dc1", "project": "OPS"}
    config = yaml.safe_load(await asyncio.to_thread(config_file.read_text))
    config["rules"] = [
        {**simple, "issue_type": "Task", "on_acknowledge": "In Progres"},
        {**simple, "name": "web", "issue_type": "Task", "on_resolve": "Done"},
    ]
    checked = write(tmp_path / "with-simple.yaml", config)
    assert await cli(["rules", "validate", str(checked), *cfg]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "$.rules[0].on_acknowledge: status 'In Progres' does not exist; statuses: To Do, "
        "In Progress, Done"
    ]
    assert "1 problem(s)" in captured.err

    config["rules"] = [{**simple, "issue_type": "Task", "on_ack": "x"}]
    del config["pagerduty_rules"]
    unknown = write(tmp_path / "unknown.yaml", config)
    assert await cli(["rules", "validate", str(unknown), *cfg]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "$.rules[0]: Object contains unknown field `on_ack`"
    ]

    config["rules"] = [{**simple, "issue_type": "Task"}]
    fine = write(tmp_path / "fine.yaml", config)
    assert await cli(["rules", "validate", str(fine), *cfg]) == 0
    assert "1 rules OK" in capsys.readouterr().out


def test_a_bad_config_rule_stops_the_service_from_starting(tmp_path: Path) -> None:
    config = base_config("nats://127.0.0.1:1")
    config["pagerduty_rules"] = [
        {"rule": pd_rule()},
        {"rule": pd_rule("Other", services=[])},
        {"rule": pd_rule()},
    ]
    path = write(tmp_path / "config.yaml", config)
    result = subprocess.run(
        [sys.executable, "-m", "pdjira_rules", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()  # one JSON log line, like every other the service writes
    refusal = json.loads(line)
    assert (refusal["service"], refusal["event"]) == ("rules", "rules_invalid")
    assert refusal["error"] == f"cannot start: 2 problem(s) in the rules of {path}"
    assert refusal["problems"] == [
        "$.pagerduty_rules[1].rule.config.services: Expected `array` of length >= 1",
        "$.pagerduty_rules[2].rule.name: $.pagerduty_rules[0] has the same name ('Ops', id "
        "cfg-ops); give every rule its own name",
    ]
