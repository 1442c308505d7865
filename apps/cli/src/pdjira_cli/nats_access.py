"""How CLI commands that read JetStream directly (``dlq``, ``audit``) find and reach NATS."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from pdjira_common.config import ConfigError, load_config

__all__ = ["CONNECT_TIMEOUT", "DEFAULT_URL", "add_nats_options", "nats_url", "with_jetstream"]

DEFAULT_URL = "nats://127.0.0.1:4222"
# A command line tool asks once: a server that is there answers a local connect in milliseconds.
CONNECT_TIMEOUT = 2.0
_T = TypeVar("_T")


def add_nats_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", help="pdjira config file (its nats.url is used)")
    where.add_argument("--nats", help=f"NATS URL (default $PDJIRA_NATS_URL or {DEFAULT_URL})")


def nats_url(args: argparse.Namespace) -> str:
    if args.config:
        return load_config(args.config).nats.url
    return str(args.nats or os.environ.get("PDJIRA_NATS_URL") or DEFAULT_URL)


async def _connect(url: str) -> NATS:
    """Connected, or ConfigError naming what went wrong (refused, timed out, ...)."""
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
                url,
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
            f"cannot connect to NATS at {url}: {type(cause).__name__}; is nats-server running "
            "and is the URL right (--nats or --config)?"
        ) from None
    return nc


async def with_jetstream(url: str, work: Callable[[JetStreamContext], Awaitable[_T]]) -> _T:
    """Run ``work`` with a JetStream context; ConfigError (said plainly) if NATS is not there."""
    nc = await _connect(url)
    try:
        return await work(nc.jetstream())
    finally:
        await nc.close()
