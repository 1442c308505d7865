"""Replicas in the dev stack: several processes of one service, each on its own port with its
own health URL, log and replica id; one can be killed and started again."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from pdjira_devstack import stack as stack_module
from pdjira_devstack.stack import SERVICES, Stack, StackSettings


def _replica_id(pid: int | None) -> str:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    [value] = [v for v in environ if v.startswith(b"PDJIRA_REPLICA_ID=")]
    return value.partition(b"=")[2].decode()


def test_three_rules_replicas_start_on_their_own_ports_and_one_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_module, "SERVICES", {"rules": SERVICES["rules"]})
    settings = StackSettings(replicas={"rules": 3, "jira-writer": 2})
    with pytest.raises(ValueError, match="replicas"):
        Stack(tmp_path / "no", settings)  # jira-writer is not a service of this stack
    stack = Stack(tmp_path / "stack", StackSettings(replicas={"rules": 3}))
    stack.ports["ingest"] = stack_module.free_port()  # where the simulators send webhooks
    names = ["rules", "rules#2", "rules#3"]
    with stack:
        assert stack.replicas("rules") == names
        assert len({stack.ports[name] for name in names}) == 3
        for name in names:
            assert httpx.get(f"{stack.url(name)}/health", timeout=5).status_code == 200
            assert (stack.logs / f"{name}.log").exists()
            listen = yaml.safe_load(stack.config_path_of(name).read_text())["listen"]
            assert listen["rules"]["port"] == stack.ports[name]
        assert [_replica_id(stack[name].pid) for name in names] == ["rules-1", "rules-2", "rules-3"]
        stack.kill_service("rules#2")
        assert not stack["rules#2"].running
        assert httpx.get(f"{stack.url('rules#3')}/health", timeout=5).status_code == 200
        stack.start_service("rules#2")
        assert httpx.get(f"{stack.url('rules#2')}/health", timeout=5).status_code == 200


def test_writer_replicas_split_the_budget(tmp_path: Path) -> None:
    stack = Stack(tmp_path, StackSettings(replicas={"jira-writer": 3}))
    assert stack.config()["writers"] == {"replicas": 3}
    assert "writers" not in Stack(tmp_path).config()
    assert list(stack.service_processes())[2:5] == ["jira-writer", "jira-writer#2", "jira-writer#3"]


def test_our_own_budget_can_be_raised(tmp_path: Path) -> None:
    limit = {"requests_per_second": 10_000, "burst": 100}
    config = Stack(tmp_path, StackSettings(rate_limit=limit)).config()
    assert config["jira_instances"][0]["rate_limit"] == limit
    assert config["pagerduty_accounts"][0]["rate_limit"] == limit
    assert "rate_limit" not in Stack(tmp_path).config()["jira_instances"][0]


def test_nats_settings_are_merged_into_the_stacks_own(tmp_path: Path) -> None:
    settings = StackSettings(extra_config={"nats": {"partition_lease_ttl": 3.0}})
    stack = Stack(tmp_path, settings)
    assert stack.config()["nats"] == {"url": stack.nats.url, "partition_lease_ttl": 3.0}
    plain = Stack(tmp_path)
    assert plain.config()["nats"] == {"url": plain.nats.url}
