"""`make run` / `make demo` path: the pdjira command starts everything and shows a sync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_dev_up_runs_the_demo_both_ways(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pdjira_cli.main",
            "dev",
            "up",
            "--exit-after-demo",
            "--workdir",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "issue OPS-1 created" in out
    assert "moved to 'Done'" in out
    assert "resolved from Jira" in out
    assert "demo: done, both sides in sync" in out
