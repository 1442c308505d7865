"""A port picked free can be taken before the stack's process binds it: the stack then starts
again on new ports instead of failing the run."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from pdjira_devstack import stack as stack_module
from pdjira_devstack.ports import free_port
from pdjira_devstack.stack import Stack


def test_a_taken_port_makes_the_stack_start_again_on_new_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_module, "SERVICES", {})  # nats-server and the simulators only
    stack = Stack(tmp_path / "stack")
    stack.ports["ingest"] = free_port()  # where the simulators would send webhooks
    taken = stack.ports["jira-sim"]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen(1)
        with stack:
            assert stack.ports["jira-sim"] != taken
            assert httpx.get(f"{stack.jira_url}/health", timeout=5).status_code == 200
            assert httpx.get(f"{stack.pd_url}/health", timeout=5).status_code == 200
        assert "address already in use" in (stack.logs / "jira-sim.log").read_text()


def test_other_start_failures_are_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_module, "SERVICES", {"broken": ("this", "broken")})
    stack = Stack(tmp_path / "stack")
    stack.ports["ingest"] = free_port()
    with pytest.raises(RuntimeError, match="broken exited with code 0 while starting"):
        stack.start()
    assert (stack.logs / "broken.log").read_text().count("Beautiful is better than ugly.") == 1
