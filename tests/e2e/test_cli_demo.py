"""`make run` / `make demo` path: the pdjira command starts everything and shows a sync."""

from __future__ import annotations

import signal
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


def _processes_under(workdir: Path) -> list[str]:
    """Command lines of running processes that mention ``workdir`` (the stack's children)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if str(workdir) in cmdline and state != "Z":
            found.append(cmdline)
    return found


def test_dev_up_stops_everything_on_a_second_ctrl_c(tmp_path: Path) -> None:
    """A terminal's Ctrl-C and `uv run` forwarding it can deliver two SIGINTs: the second one
    must not cut the stop short and leave nats-server or a service running."""
    workdir = tmp_path / "run"
    up = subprocess.Popen(
        [sys.executable, "-m", "pdjira_cli.main", "dev", "up", "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert up.stdout is not None
        for line in up.stdout:
            if "Press Ctrl-C to stop." in line:
                break
        else:
            pytest.fail(f"dev up ended before it was up (status {up.wait()})")
        assert _processes_under(workdir)  # nats-server, simulators and services run
        up.send_signal(signal.SIGINT)
        for line in up.stdout:
            if "stopping ..." in line:
                break
        up.send_signal(signal.SIGINT)  # while stopping
        up.wait(timeout=60)
        assert _processes_under(workdir) == []
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
