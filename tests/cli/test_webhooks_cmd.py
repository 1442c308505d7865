"""``pdjira webhooks check``: what the user is told when the config is not ready or ingest is
out of reach (exit 2 / 3), and how a report reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pdjira_cli.main import main
from pdjira_cli.webhooks_cmd import render
from pdjira_devstack.ports import free_port


def config_file(tmp_path: Path, ingest: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"listen": {"ingest": {"port": free_port()}}, "ingest": ingest}))
    return path


def test_a_missing_token_or_public_url_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_file(tmp_path, {"public_url": "https://pdjira.example.com"})
    assert main(["webhooks", "check", "--config", str(path)]) == 2
    assert "ingest.admin_token is not set" in capsys.readouterr().err

    path = config_file(tmp_path, {"admin_token": "tok-123"})
    assert main(["webhooks", "check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "ingest.public_url is not set" in err
    assert "https://pdjira.example.com" in err  # an example of what to set


def test_ingest_out_of_reach_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config_file(tmp_path, {"admin_token": "tok-123", "public_url": "https://x.example"})
    assert main(["webhooks", "check", "--fix", "--config", str(path)]) == 3
    assert "cannot reach the ingest service" in capsys.readouterr().err


def test_a_report_reads_per_target() -> None:
    report = {
        "fix": False,
        "ok": False,
        "targets": [
            {
                "system": "pagerduty",
                "target": "acme",
                "url": "https://x.example/webhooks/pagerduty/acme",
                "ok": False,
                "findings": [{"kind": "disabled", "problem": True, "message": "PSUB1 disabled"}],
                "actions": [],
                "ping": None,
            },
            {
                "system": "jira",
                "target": "dc1",
                "url": "https://x.example/webhooks/jira/dc1",
                "ok": True,
                "findings": [],
                "notes": ["Jira has no ping"],
            },
        ],
    }
    lines = render(report)
    assert lines[0] == "PagerDuty account acme: PROBLEM"
    assert "  problem: PSUB1 disabled" in lines
    assert "Jira instance dc1: ok" in lines
    assert "  note: Jira has no ping" in lines
    assert lines[-1].endswith("`pdjira webhooks check --fix` repairs them")
