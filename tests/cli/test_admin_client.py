"""How the CLI reaches a service's admin API (mapping's /admin/v1, rules' /rules): which
account or instance, where the service listens, its token, and what the user is told."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pdjira_cli.admin_client import MAPPING, RULES, AdminError, check, connect, pick, run


def test_pick_takes_the_given_one_or_the_only_one() -> None:
    assert pick("account", "acme", ["acme", "beta"]) == "acme"
    assert pick("account", None, ["acme"]) == "acme"
    with pytest.raises(AdminError, match=r"unknown account 'gamma'; configured: \['acme'\]"):
        pick("account", "gamma", ["acme"])
    with pytest.raises(AdminError, match="choose one with --instance"):
        pick("instance", None, ["dc1", "dc2"])


def config_file(tmp_path: Path, **extra: Any) -> Path:
    config = {
        "nats": {"url": "nats://127.0.0.1:4222"},
        "listen": {"mapping": {"host": "0.0.0.0", "port": 8185}},
        **extra,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def args(path: Path, url: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(config=str(path), url=url)


def test_connect_uses_the_listener_and_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAPPING_TOKEN", "s3cret-token")
    path = config_file(tmp_path, mapping={"admin_token": "${env:MAPPING_TOKEN}"})
    _, client = connect(MAPPING, args(path))
    with client:
        # A wildcard listener is reached on the loopback interface.
        assert str(client.base_url) == "http://127.0.0.1:8185"
        assert client.headers["Authorization"] == "Bearer s3cret-token"
    _, client = connect(MAPPING, args(path, url="http://mapping.internal:9000"))
    with client:
        assert str(client.base_url) == "http://mapping.internal:9000"


def test_connect_without_a_token_says_where_to_set_it(tmp_path: Path) -> None:
    with pytest.raises(AdminError, match=r"rules_service.admin_token is not set in the config"):
        connect(RULES, args(config_file(tmp_path)))


def test_connect_with_a_bad_config_says_why(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("nats: [not, a, mapping]\n")
    with pytest.raises(AdminError):
        connect(MAPPING, args(path))


def test_check_returns_the_json_or_the_apis_own_error() -> None:
    assert check(httpx.Response(200, json={"users": []})) == {"users": []}
    with pytest.raises(AdminError, match="answered 422: Jira user 'ghost' not found"):
        check(httpx.Response(422, json={"error": "Jira user 'ghost' not found"}))
    with pytest.raises(AdminError, match="answered 502: bad gateway"):
        check(httpx.Response(502, text="bad gateway"))


def test_run_turns_errors_into_exit_codes_and_plain_words(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fails(_: argparse.Namespace) -> int:
        raise AdminError("unknown account 'x'")

    def unreachable(_: argparse.Namespace) -> int:
        raise httpx.ConnectError("connection refused")

    assert run(lambda _: 0, argparse.Namespace()) == 0
    assert run(fails, argparse.Namespace()) == 2
    assert "pdjira: unknown account 'x'" in capsys.readouterr().err
    assert run(unreachable, argparse.Namespace(), RULES) == 3
    err = capsys.readouterr().err
    assert "cannot reach the rules service (connection refused)" in err
    assert "listen.rules (or --url)" in err
