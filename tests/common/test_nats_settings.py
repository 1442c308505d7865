"""The ``nats`` config section: login (user/password, token, creds, nkey seed), TLS, what is
refused and why; the URL as it may be shown (no credentials)."""

from __future__ import annotations

import ssl
from typing import Any

import certifi
import pytest
from faststream.nats.security import NatsSecurity, NatsToken, NatsUserPassword
from pdjira_common.config import ConfigError, NatsSettings, parse_config
from pdjira_common.nats_connect import broker_security, connect_options, servers
from pdjira_common.urls import redact_url


def nats(**section: Any) -> NatsSettings:
    return parse_config({"nats": section}).nats


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://user:pa55word@host:4222", "nats://***@host:4222"),
        ("nats://s3cr3t-token@host:4222", "nats://***@host:4222"),
        ("tls://u:p%40ss@nats.example.com", "tls://***@nats.example.com"),
        ("nats://host:4222", "nats://host:4222"),
        ("nats://a:b@h1:4222,nats://c:d@h2:4222", "nats://***@h1:4222,nats://***@h2:4222"),
        ("cannot connect to nats://a:b@h:1: refused", "cannot connect to nats://***@h:1: refused"),
    ],
)
def test_redact_url_hides_the_user_info(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_user_and_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_PW", "env-nats-password")
    settings = nats(url="nats://h:4222", user="pdjira", password="${env:NATS_PW}")
    assert "env-nats-password" not in repr(settings)
    options = connect_options(settings)
    assert options["user"] == "pdjira"
    assert options["password"] == "env-nats-password"
    security = broker_security(settings)
    assert isinstance(security, NatsUserPassword)
    assert security.password == "env-nats-password"


def test_credentials_in_the_url_become_options_and_leave_the_url() -> None:
    settings = nats(url="nats://pdjira:url-pass-1@h1:4222,nats://h2:4222")
    assert servers(settings) == ["nats://h1:4222", "nats://h2:4222"]
    options = connect_options(settings)
    assert (options["user"], options["password"]) == ("pdjira", "url-pass-1")
    assert isinstance(broker_security(settings), NatsUserPassword)
    token = nats(url="nats://tok-abc-123@h:4222")
    assert connect_options(token)["token"] == "tok-abc-123"
    assert isinstance(broker_security(token), NatsToken)


def test_token() -> None:
    settings = nats(token="a-nats-token")
    assert connect_options(settings)["token"] == "a-nats-token"
    assert isinstance(broker_security(settings), NatsToken)


def test_no_login_no_security() -> None:
    settings = nats()
    assert broker_security(settings) is None
    assert connect_options(settings) == {"servers": ["nats://127.0.0.1:4222"]}


def test_tls_with_a_ca_and_a_server_name() -> None:
    ca = certifi.where()  # any CA bundle will do
    settings = nats(url="tls://h:4222", tls={"ca_file": ca, "server_name": "nats.internal"})
    options = connect_options(settings)
    assert isinstance(options["tls"], ssl.SSLContext)
    assert options["tls_hostname"] == "nats.internal"
    security = broker_security(settings)
    assert isinstance(security, NatsSecurity)
    assert security.use_ssl
    assert security.tls_hostname == "nats.internal"


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ({"user": "u"}, "user and password go together"),
        ({"password": "p"}, "user and password go together"),
        ({"user": "u", "password": "p", "token": "t"}, "user/password and token are both set"),
        ({"url": "nats://a:b@h:4222", "token": "t"}, "token and credentials in the url"),
        ({"token": "t", "creds_file": "/nonexistent.creds"}, "token and creds_file"),
        ({"creds_file": "/nonexistent.creds"}, "$.nats.creds_file: no file at"),
        ({"nkey_seed_file": "/nonexistent.nk"}, "$.nats.nkey_seed_file: no file at"),
        ({"tls": {"cert_file": "/x.pem"}}, "cert_file and key_file go together"),
        ({"tls": {"ca_file": "/nonexistent-ca.pem"}}, "$.nats.tls.ca_file: no file at"),
        ({"url": "http://h:4222"}, "scheme 'http'"),
        ({"url": " , "}, "give at least one URL"),
        ({"replicas": 0}, "$.nats.replicas"),
    ],
)
def test_what_is_wrong_is_said(section: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as refused:
        nats(**section)
    assert says in str(refused.value)


def test_a_wrong_url_is_shown_without_its_password() -> None:
    with pytest.raises(ConfigError) as refused:
        nats(url="http://u:very-secret-pw@h:4222")
    assert "very-secret-pw" not in str(refused.value)
