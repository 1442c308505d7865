"""``pdjira users self-link``: where a person's tokens come from (never the command line)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pdjira_cli.admin_client import AdminError
from pdjira_cli.main import build_parser
from pdjira_cli.users_cmd import read_token


def test_a_token_comes_from_a_file_then_a_variable_then_the_terminal(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("  from-file\n", encoding="utf-8")
    env = {"MY_KEY": "from-env"}
    assert read_token("k", file=str(key), env="MY_KEY", environ=env, ask=None) == "from-file"
    assert read_token("k", file=None, env="MY_KEY", environ=env, ask=None) == "from-env"
    typed = read_token("k", file=None, env=None, environ={}, ask=lambda prompt: "typed ")
    assert typed == "typed"


@pytest.mark.parametrize(
    ("file", "env", "message"),
    [
        ("missing", None, "cannot read the PagerDuty user API key from"),
        (None, "UNSET_VAR", "the environment variable UNSET_VAR"),
        (None, None, "standard input is not a terminal"),
    ],
)
def test_no_token_is_a_clear_error(
    tmp_path: Path, file: str | None, env: str | None, message: str
) -> None:
    with pytest.raises(AdminError, match=message):
        read_token(
            "PagerDuty user API key",
            file=str(tmp_path / file) if file else None,
            env=env,
            environ={},
            ask=None,
        )


def test_there_is_no_option_to_give_a_token_on_the_command_line() -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["users", "self-link", "--pd-token", "secret"])
    args = parser.parse_args(["users", "self-link", "--url", "http://m", "--pd-token-env", "V"])
    assert args.pd_token_env == "V"
