"""The CLI reaches the stack `make run` starts: the stack writes ``.run/env`` (mode 0600) and,
once it is sourced, every command finds the config, its secrets and NATS without flags."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
from pathlib import Path

import pytest
from pdjira_cli.admin_client import RULES, AdminError, connect
from pdjira_cli.main import main
from pdjira_cli.nats_access import add_nats_options, nats_settings
from pdjira_devstack.stack import Stack


def sourced(env_file: Path) -> dict[str, str]:
    """The environment a shell has after ``source env_file``, starting from an empty one."""
    out = subprocess.run(
        ["bash", "-c", f"source {env_file} && env -0"],
        env={"PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    ).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


@pytest.fixture
def stack_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Stack, dict[str, str]]:
    stack = Stack(tmp_path / ".run")
    stack.write_config()
    env_file = stack.write_cli_env()
    for name in ("PDJIRA_CONFIG", "PDJIRA_NATS_URL", *stack.env):
        monkeypatch.delenv(name, raising=False)
    return stack, sourced(env_file)


def test_the_env_file_is_private_and_holds_what_the_cli_needs(
    stack_env: tuple[Stack, dict[str, str]],
) -> None:
    stack, env = stack_env
    assert stat.S_IMODE(stack.cli_env_path.stat().st_mode) == 0o600
    assert env["PDJIRA_CONFIG"] == str(stack.config_path.resolve())
    assert env["PDJIRA_NATS_URL"] == stack.nats.url
    for name, value in stack.env.items():
        assert env[name] == value
    # `pdjira` itself is on PATH after sourcing it.
    assert Path(env["PATH"].split(":")[0], "pdjira").exists()


def test_after_sourcing_commands_need_no_flags(
    stack_env: tuple[Stack, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stack, env = stack_env
    for name, value in env.items():
        if name != "PATH":
            monkeypatch.setenv(name, value)
    no_flags = argparse.Namespace(config=None, url=None)
    _, client = connect(RULES, no_flags)
    with client:
        assert str(client.base_url) == stack.rules_url
        assert client.headers["Authorization"] == f"Bearer {stack.env['RULES_ADMIN_TOKEN']}"
    parser = argparse.ArgumentParser()
    add_nats_options(parser)
    assert nats_settings(parser.parse_args([])).url == stack.nats.url
    assert main(["config", "check", os.environ["PDJIRA_CONFIG"]]) == 0
    assert capsys.readouterr().out.startswith("ok: ")


def test_without_config_or_environment_the_error_says_how(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PDJIRA_CONFIG", raising=False)
    with pytest.raises(AdminError, match=r"pass --config FILE or set PDJIRA_CONFIG .*\.run/env"):
        connect(RULES, argparse.Namespace(config=None, url=None))
    assert main(["rules", "list"]) == 2
    assert "set PDJIRA_CONFIG" in capsys.readouterr().err
