"""Talking to a service's admin API (mapping's ``/admin/v1``, rules' ``/rules``) from the CLI:
where it is, its token, and error messages."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from pdjira_common.config import Config, ConfigError, HttpListen, load_config
from pdjira_common.secrets import Secret

__all__ = [
    "CONFIG_ENV",
    "INGEST",
    "MAPPING",
    "RULES",
    "AdminApi",
    "AdminError",
    "add_common",
    "admin_client",
    "config_path",
    "connect",
    "pick",
    "run",
]


@dataclass(frozen=True, slots=True)
class AdminApi:
    """One service's admin API as the config describes it."""

    service: str  # "mapping", "rules"
    token_setting: str  # where the token is set, for the error message
    token: Callable[[Config], Secret | None]
    listen: Callable[[Config], HttpListen]


MAPPING = AdminApi(
    "mapping", "mapping.admin_token", lambda c: c.mapping.admin_token, lambda c: c.listen.mapping
)
RULES = AdminApi(
    "rules",
    "rules_service.admin_token",
    lambda c: c.rules_service.admin_token,
    lambda c: c.listen.rules,
)

INGEST = AdminApi(
    "ingest", "ingest.admin_token", lambda c: c.ingest.admin_token, lambda c: c.listen.ingest
)


class AdminError(Exception):
    """Something the user can fix; printed as is, exit status 2."""


# The config every command uses when --config is not given; `make run` writes .run/env setting
# it (with the secrets the config refers to), so `source .run/env` is all the CLI needs.
CONFIG_ENV = "PDJIRA_CONFIG"
CONFIG_HELP = f"the pdjira YAML config file (default ${CONFIG_ENV})"


def config_path(args: argparse.Namespace) -> str:
    """``--config``, else ``$PDJIRA_CONFIG``; AdminError saying how to give one."""
    path = getattr(args, "config", None) or os.environ.get(CONFIG_ENV)
    if not path:
        raise AdminError(
            f"no config file: pass --config FILE or set {CONFIG_ENV} (with `make run` going: "
            "`source .run/env`)"
        )
    return str(path)


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help=CONFIG_HELP)
    parser.add_argument(
        "--url", help="mapping service URL (default: from listen.mapping in the config)"
    )


def pick(kind: str, given: str | None, configured: list[str]) -> str:
    """The account/instance to use: the one given, or the only one configured."""
    if given is not None:
        if given not in configured:
            raise AdminError(f"unknown {kind} {given!r}; configured: {configured}")
        return given
    if len(configured) == 1:
        return configured[0]
    raise AdminError(f"several {kind}s are configured ({configured}); choose one with --{kind}")


def connect(
    api: AdminApi, args: argparse.Namespace, *, timeout: float = 30.0
) -> tuple[Config, httpx.Client]:
    """The config (``--config``) and a client for ``api`` (``--url``, else its listener)."""
    try:
        config = load_config(config_path(args))
    except ConfigError as exc:
        raise AdminError(str(exc)) from None
    token = api.token(config)
    if token is None:
        raise AdminError(
            f"{api.token_setting} is not set in the config: set it (e.g. "
            f"${{env:PDJIRA_{api.service.upper()}_TOKEN}}) for the {api.service} service and "
            "this command"
        )
    listen = api.listen(config)
    host = "127.0.0.1" if listen.host in ("0.0.0.0", "::", "") else listen.host
    url = args.url or f"http://{host}:{listen.port}"
    client = httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token.reveal()}"}, timeout=timeout
    )
    return config, client


def admin_client(args: argparse.Namespace) -> tuple[Config, httpx.Client]:
    """The mapping admin API (``pdjira users`` / ``links``)."""
    return connect(MAPPING, args)


def check(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer; otherwise the API's own error text as an AdminError."""
    if response.is_success:
        return response.json()
    try:
        message = response.json().get("error") or response.text
    except ValueError:
        message = response.text
    raise AdminError(f"mapping answered {response.status_code}: {message}")


def run(handler: Any, args: argparse.Namespace, api: AdminApi = MAPPING) -> int:
    try:
        code: int = handler(args)
    except AdminError as exc:
        print(f"pdjira: {exc}", file=sys.stderr)
        return 2
    except httpx.TransportError as exc:
        print(
            f"pdjira: cannot reach the {api.service} service ({exc}); is it running, and is "
            f"listen.{api.service} (or --url) right?",
            file=sys.stderr,
        )
        return 3
    return code
