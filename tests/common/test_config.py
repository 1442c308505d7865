from __future__ import annotations

from pathlib import Path

import pytest
from pdjira_common.config import ConfigError, load_config, normalize_base_url, parse_config

BASE = {
    "pagerduty_accounts": [
        {"id": "main", "token": "${env:PD_TOKEN}", "from_email": "bot@example.com"}
    ],
    "jira_instances": [
        {
            "id": "dc1",
            "base_url": "jira.example.com:8080/",
            "auth": {"type": "token", "token": "${env:JIRA_PAT}"},
            "webhook_secret": "jira-hook-secret",
        }
    ],
    "rules": [
        {"name": "r", "account": "main", "instance": "dc1", "project": "OPS", "issue_type": "Task"}
    ],
}


@pytest.fixture(autouse=True)
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PD_TOKEN", "pd-token-value-123")
    monkeypatch.setenv("JIRA_PAT", "jira-pat-value-456")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("jira.example.com", "http://jira.example.com"),
        ("jira.example.com:8080/jira/", "http://jira.example.com:8080/jira"),
        ("https://jira.example.com", "https://jira.example.com"),
        (" http://10.0.0.1:8080 ", "http://10.0.0.1:8080"),
    ],
)
def test_base_url_without_scheme_means_http(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


def test_secrets_come_from_environment_and_never_print() -> None:
    config = parse_config(BASE)
    assert config.account("main").token.reveal() == "pd-token-value-123"
    token = config.instance("dc1").auth.token
    assert token is not None
    assert token.reveal() == "jira-pat-value-456"
    assert config.instance("dc1").base_url == "http://jira.example.com:8080"
    assert "pd-token-value-123" not in repr(config)
    assert "jira-pat-value-456" not in repr(config)


def test_missing_environment_variable_names_field_and_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PD_TOKEN")
    with pytest.raises(ConfigError, match=r"\$\.pagerduty_accounts\[0\]\.token.*PD_TOKEN"):
        parse_config(BASE)


def test_unknown_field_is_refused_with_its_path() -> None:
    bad = {**BASE, "jira_instances": [{**BASE["jira_instances"][0], "base_uri": "x"}]}
    with pytest.raises(ConfigError, match="base_uri"):
        parse_config(bad)


def test_rule_with_unknown_instance_lists_configured_ones() -> None:
    bad = {**BASE, "rules": [{**BASE["rules"][0], "instance": "nope"}]}
    with pytest.raises(ConfigError, match=r"rules\[0\]\.instance.*'nope'.*dc1"):
        parse_config(bad)


def test_ids_must_be_subject_safe() -> None:
    bad = {**BASE, "pagerduty_accounts": [{**BASE["pagerduty_accounts"][0], "id": "a.b"}]}
    with pytest.raises(ConfigError, match="id"):
        parse_config(bad)


def test_basic_auth_needs_password() -> None:
    instance = {"id": "dc1", "base_url": "x", "auth": {"type": "basic", "username": "u"}}
    with pytest.raises(ConfigError, match="basic auth needs username and password"):
        parse_config({**BASE, "jira_instances": [instance]})


def test_unreadable_and_invalid_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("nats: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


def test_jira_instance_needs_a_webhook_secret_or_token() -> None:
    instance = {k: v for k, v in BASE["jira_instances"][0].items() if k != "webhook_secret"}
    with pytest.raises(
        ConfigError, match=r"jira_instances\[0\]: set webhook_secret .* or webhook_token"
    ):
        parse_config({**BASE, "jira_instances": [instance]})


def test_jira_webhook_token_is_enough_but_must_be_long() -> None:
    instance = {k: v for k, v in BASE["jira_instances"][0].items() if k != "webhook_secret"}
    token = "t0k3n-0123456789abcdef"
    config = parse_config({**BASE, "jira_instances": [{**instance, "webhook_token": token}]})
    assert config.jira_instances[0].webhook_token is not None
    assert config.jira_instances[0].webhook_token.reveal() == token
    assert token not in repr(config)
    with pytest.raises(ConfigError, match=r"webhook_token: must be at least 16"):
        parse_config({**BASE, "jira_instances": [{**instance, "webhook_token": "short"}]})
