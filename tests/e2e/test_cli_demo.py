"""`make run` / `make demo` path: the pdjira command starts everything and shows a sync."""

from __future__ import annotations

import contextlib
import os
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


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started: nats-server, both simulators, the five services."""
    found = []
    for proc in Path("/proc").iterdir():
        fields = _stat(int(proc.name)) if proc.name.isdigit() else None
        if fields is not None and int(fields[1]) == pid:
            found.append(int(proc.name))
    return found


def _alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        fields = _stat(pid)
        if fields is not None and fields[0] != "Z":
            alive.append(pid)
    return alive


def test_dev_up_stops_everything_on_a_second_ctrl_c(tmp_path: Path) -> None:
    """A terminal's Ctrl-C and `uv run` forwarding it can deliver two SIGINTs: the second one
    must not cut the stop short and leave nats-server, a simulator or a service running."""
    workdir = tmp_path / "run"
    up = subprocess.Popen(
        [sys.executable, "-m", "pdjira_cli.main", "dev", "up", "--workdir", str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    children: list[int] = []
    try:
        assert up.stdout is not None
        for line in up.stdout:
            if "Press Ctrl-C to stop." in line:
                break
        else:
            pytest.fail(f"dev up ended before it was up (status {up.wait()})")
        children = _children(up.pid)
        assert len(children) == 9  # nats-server, 2 simulators, 5 services, the console
        up.send_signal(signal.SIGINT)
        for line in up.stdout:
            if "stopping ..." in line:
                break
        up.send_signal(signal.SIGINT)  # while stopping
        up.wait(timeout=60)
        assert _alive(children) == []
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
        for pid in _alive(children):  # what a failed stop left behind
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
