"""``pdjira doctor`` exit statuses: 2 for a config it cannot read, 3 when a service it must ask
cannot be reached (the checks that could not run are said, not skipped), 1 for a failed check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pdjira_cli.doctor_cmd import Check, verdict
from pdjira_cli.main import main
from pdjira_devstack.ports import free_port


def test_a_config_that_does_not_load_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"nats": {"url": 5}}))
    assert main(["doctor", "--config", str(config)]) == 2
    assert "pdjira:" in capsys.readouterr().err
    assert main(["doctor", "--config", str(tmp_path / "missing.yaml")]) == 2


def test_nats_down_is_unreachable_and_every_check_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    port = free_port()
    config.write_text(yaml.safe_dump({"nats": {"url": f"nats://127.0.0.1:{port}"}}))
    assert main(["doctor", "--config", str(config), "--json"]) == 3
    body = json.loads(capsys.readouterr().out)
    assert body["exit"] == 3
    by_target = {c["target"]: c for c in body["checks"]}
    assert by_target["nats"]["unreachable"] is True
    assert f"cannot connect to NATS at nats://127.0.0.1:{port}" in by_target["nats"]["message"]
    assert "rules_service.admin_token is not set" in by_target["rules"]["message"]


def test_verdict() -> None:
    fine = Check("jira dc1", "version", True, "Jira 10.3.4")
    failed = Check("jira dc1 OPS", "TRANSITION_ISSUES", False, "lacks Transition Issues")
    down = Check("nats", "connection", False, "cannot connect", unreachable=True)
    assert verdict([fine]) == 0
    assert verdict([fine, failed]) == 1
    assert verdict([failed, down]) == 3
    no_token = Check("rules", "permissions", False, "set the token", misconfigured=True)
    assert verdict([failed, no_token]) == 2
    assert verdict([no_token, down]) == 3
    assert failed.line() == "FAIL  jira dc1 OPS: TRANSITION_ISSUES: lacks Transition Issues"
