"""How CLI commands that read JetStream directly (``dlq``, ``audit``) find and reach NATS."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from pdjira_common.config import ConfigError, NatsSettings, load_config
from pdjira_common.nats_connect import connect_options
from pdjira_common.urls import redact_url

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_URL",
    "add_nats_options",
    "nats_settings",
    "nats_url",
    "with_jetstream",
]

DEFAULT_URL = "nats://127.0.0.1:4222"
# A command line tool asks once: a server that is there answers a local connect in milliseconds.
CONNECT_TIMEOUT = 2.0
_T = TypeVar("_T")


def add_nats_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--config",
        help="pdjira config file (its nats section: URL, login and TLS; default $PDJIRA_CONFIG)",
    )
    where.add_argument("--nats", help=f"NATS URL (default $PDJIRA_NATS_URL, else {DEFAULT_URL})")


def nats_settings(args: argparse.Namespace) -> NatsSettings:
    """The config file's ``nats`` section (``--config``), or just a URL (``--nats``): its user
    info, if any, is the login; neither given: $PDJIRA_CONFIG, else $PDJIRA_NATS_URL, else
    the local default."""
    if args.config:
        return load_config(args.config).nats
    if args.nats:
        return NatsSettings(url=str(args.nats))
    if os.environ.get("PDJIRA_CONFIG"):
        return load_config(os.environ["PDJIRA_CONFIG"]).nats
    return NatsSettings(url=os.environ.get("PDJIRA_NATS_URL") or DEFAULT_URL)


def nats_url(args: argparse.Namespace) -> str:
    return nats_settings(args).url


async def _connect(nats: NatsSettings | str) -> NATS:
    """Connected, or ConfigError naming what went wrong (refused, timed out, ...)."""
    settings = nats if isinstance(nats, NatsSettings) else NatsSettings(url=nats)
    nc = NATS()
    errors: list[Exception] = []

    async def note(error: Exception) -> None:
        # Instead of nats-py's default (a traceback per attempt): the CLI says it once, plainly.
        errors.append(error)

    try:
        # nats-py's first connect goes round its server pool until each server has failed more
        # than ``max_reconnect_attempts`` times, ``reconnect_time_wait`` apart (0 = never stop):
        # one retry, no pause, so an unreachable server is reported at once.
        await asyncio.wait_for(
            nc.connect(
                **connect_options(settings),
                # Typed int by nats-py, used as a float (asyncio.wait_for).
                connect_timeout=CONNECT_TIMEOUT,  # type: ignore[arg-type]
                allow_reconnect=False,
                max_reconnect_attempts=1,
                reconnect_time_wait=0,
                error_cb=note,
            ),
            timeout=2 * CONNECT_TIMEOUT + 1,
        )
    except Exception as exc:
        cause = errors[0] if errors else exc
        raise ConfigError(
            f"cannot connect to NATS at {redact_url(settings.url)}: {_why(cause)}; is "
            "nats-server running, and are the URL and login right (--nats or --config)?"
        ) from None
    return nc


def _why(cause: Exception) -> str:
    text = str(cause).strip().lower()
    if "authorization" in text or "authentication" in text:
        return f"{type(cause).__name__} (the server refused the login)"
    return type(cause).__name__


async def with_jetstream(
    nats: NatsSettings | str, work: Callable[[JetStreamContext], Awaitable[_T]]
) -> _T:
    """Run ``work`` with a JetStream context; ConfigError (said plainly) if NATS is not there."""
    nc = await _connect(nats)
    try:
        return await work(nc.jetstream())
    finally:
        await nc.close()
