"""How to reach NATS from :class:`~pdjira_common.config.NatsSettings`: the server URLs (without
credentials: those go as separate options, so no URL that nats-py or FastStream may print holds
them), the login, TLS. Used by the services' brokers, the CLI and the dev tools alike."""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from faststream.nats.security import (
    NatsCredentials,
    NatsNKey,
    NatsSecurity,
    NatsToken,
    NatsUserPassword,
)
from faststream.security import BaseSecurity

from pdjira_common.config import NatsSettings
from pdjira_common.secrets import Secret
from pdjira_common.urls import redact_url

__all__ = ["NatsLogin", "broker_security", "connect_options", "redact_url", "servers"]


class NatsLogin:
    """The resolved login: at most one of user/password, token, creds file, nkey seed file."""

    __slots__ = ("creds_file", "nkey_seed_file", "password", "token", "user")

    def __init__(self, settings: NatsSettings) -> None:
        self.user: str | None = settings.user
        self.password: Secret | None = settings.password
        self.token: Secret | None = settings.token
        self.creds_file = settings.creds_file
        self.nkey_seed_file = settings.nkey_seed_file
        if self.user is None and self.token is None:
            # Credentials in the URL (nats://user:pass@host, nats://token@host) become options.
            for url in settings.urls():
                parts = urlsplit(url)
                if parts.password is not None and parts.username is not None:
                    self.user = unquote(parts.username)
                    self.password = Secret(unquote(parts.password))
                    break
                if parts.username:
                    self.token = Secret(unquote(parts.username))
                    break


def servers(settings: NatsSettings) -> list[str]:
    """The server URLs without user info."""
    out = []
    for url in settings.urls():
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        out.append(urlunsplit(parts._replace(netloc=netloc)))
    return out


def ssl_context(settings: NatsSettings) -> ssl.SSLContext | None:
    """The TLS context of ``settings.tls`` (None: no ``tls`` section; a ``tls://`` URL then
    uses nats-py's default context)."""
    tls = settings.tls
    if tls is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca_file)
    if tls.cert_file is not None and tls.key_file is not None:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    return context


def connect_options(settings: NatsSettings) -> dict[str, Any]:
    """nats-py ``connect`` keyword arguments: ``servers`` plus the login and TLS."""
    who = NatsLogin(settings)
    options: dict[str, Any] = {"servers": servers(settings)}
    if who.user is not None and who.password is not None:
        options.update(user=who.user, password=who.password.reveal())
    if who.token is not None:
        options["token"] = who.token.reveal()
    if who.creds_file is not None:
        options["user_credentials"] = who.creds_file
    if who.nkey_seed_file is not None:
        options["nkeys_seed"] = who.nkey_seed_file
    context = ssl_context(settings)
    if context is not None:
        options["tls"] = context
    if settings.tls is not None and settings.tls.server_name is not None:
        options["tls_hostname"] = settings.tls.server_name
    return options


def broker_security(settings: NatsSettings) -> BaseSecurity | None:
    """FastStream's form of the same login and TLS (``NatsBroker(security=...)``)."""
    who = NatsLogin(settings)
    context = ssl_context(settings)
    tls: dict[str, Any] = {
        "ssl_context": context,
        "use_ssl": True if context is not None else None,
        "tls_hostname": settings.tls.server_name if settings.tls is not None else None,
    }
    if who.user is not None and who.password is not None:
        return NatsUserPassword(who.user, who.password.reveal(), **tls)
    if who.token is not None:
        return NatsToken(who.token.reveal(), **tls)
    if who.creds_file is not None:
        return NatsCredentials(who.creds_file, **tls)
    if who.nkey_seed_file is not None:
        return NatsNKey(who.nkey_seed_file, **tls)
    if context is not None or tls["tls_hostname"] is not None:
        return NatsSecurity(**tls)
    return None
