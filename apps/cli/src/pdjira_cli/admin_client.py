"""Talking to the mapping admin API from the CLI: where it is, its token, and error messages."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx
from pdjira_common.config import Config, ConfigError, load_config

__all__ = ["AdminError", "add_common", "admin_client", "pick", "run"]


class AdminError(Exception):
    """Something the user can fix; printed as is, exit status 2."""


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="the pdjira YAML config file")
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


def admin_client(args: argparse.Namespace) -> tuple[Config, httpx.Client]:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise AdminError(str(exc)) from None
    token = config.mapping.admin_token
    if token is None:
        raise AdminError(
            "mapping.admin_token is not set in the config: set it (e.g. ${env:PDJIRA_ADMIN_TOKEN})"
            " for the mapping service and this command"
        )
    listen = config.listen.mapping
    host = "127.0.0.1" if listen.host in ("0.0.0.0", "::", "") else listen.host
    url = args.url or f"http://{host}:{listen.port}"
    client = httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token.reveal()}"}, timeout=30.0
    )
    return config, client


def check(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer; otherwise the API's own error text as an AdminError."""
    if response.is_success:
        return response.json()
    try:
        message = response.json().get("error") or response.text
    except ValueError:
        message = response.text
    raise AdminError(f"mapping answered {response.status_code}: {message}")


def run(handler: Any, args: argparse.Namespace) -> int:
    try:
        code: int = handler(args)
    except AdminError as exc:
        print(f"pdjira: {exc}", file=sys.stderr)
        return 2
    except httpx.TransportError as exc:
        print(
            f"pdjira: cannot reach the mapping service ({exc}); is it running, and is "
            "listen.mapping (or --url) right?",
            file=sys.stderr,
        )
        return 3
    return code
