"""The ``mapping`` config section: defaults keep old configs loading; mistakes name the path."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.config import ConfigError, parse_config

BASE: dict[str, Any] = {
    "pagerduty_accounts": [{"id": "acme", "token": "tok-abcdef", "from_email": "b@x.io"}],
    "jira_instances": [
        {
            "id": "dc1",
            "base_url": "jira",
            "auth": {"type": "token", "token": "pat-1234"},
            "webhook_secret": "hook-1234",
        }
    ],
}


def test_defaults() -> None:
    mapping = parse_config(BASE).mapping
    assert mapping.admin_token is None
    assert (mapping.email_cache_ttl, mapping.echo_mark_ttl) == (3600.0, 300.0)
    assert mapping.fallback("acme", "dc1") is None
    assert (mapping.link_cache_size, mapping.link_cache_max_age) == (50_000, 300.0)


def test_fallback_per_pair_and_token_is_secret() -> None:
    config = parse_config(
        {
            **BASE,
            "mapping": {
                "admin_token": "s3cret-admin",
                "fallbacks": [{"account": "acme", "instance": "dc1", "jira_user": "pdjira"}],
            },
        }
    )
    fallback = config.mapping.fallback("acme", "dc1")
    assert fallback is not None
    assert fallback.jira_user == "pdjira"
    assert "s3cret-admin" not in repr(config)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        pytest.param(
            {"echo_mark_ttl": 0}, "$.mapping.echo_mark_ttl: must be more than 0", id="ttl-0"
        ),
        pytest.param({"echo_mark_ttl": 7200}, "at most 3600", id="ttl-too-long"),
        pytest.param({"email_cache_ttl": -1}, "$.mapping.email_cache_ttl", id="cache-ttl"),
        pytest.param(
            {"fallbacks": [{"account": "nope", "instance": "dc1", "jira_user": "x"}]},
            "$.mapping.fallbacks[0].account: unknown account 'nope'; configured: ['acme']",
            id="unknown-account",
        ),
        pytest.param(
            {"fallbacks": [{"account": "acme", "instance": "dc9", "jira_user": "x"}]},
            "$.mapping.fallbacks[0].instance: unknown Jira instance 'dc9'",
            id="unknown-instance",
        ),
        pytest.param(
            {"fallbacks": [{"account": "acme", "instance": "dc1"}]},
            "give jira_user, pd_user_id or both",
            id="empty-fallback",
        ),
        pytest.param(
            {
                "fallbacks": [
                    {"account": "acme", "instance": "dc1", "jira_user": "x"},
                    {"account": "acme", "instance": "dc1", "jira_user": "y"},
                ]
            },
            "$.mapping.fallbacks[1]: a second fallback",
            id="duplicate",
        ),
        pytest.param({"link_cache_size": -1}, "$.mapping.link_cache_size", id="cache-size"),
        pytest.param({"link_cache_max_age": 0}, "$.mapping.link_cache_max_age", id="cache-age"),
        pytest.param({"admin_tokn": "x"}, "admin_tokn", id="typo"),
    ],
)
def test_mistakes(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({**BASE, "mapping": mapping})
    assert message in str(error.value)
