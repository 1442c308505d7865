"""How CLI commands that read JetStream directly (``dlq``, ``audit``) find and reach NATS."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats
from nats.js import JetStreamContext
from pdjira_common.config import ConfigError, load_config

__all__ = ["DEFAULT_URL", "add_nats_options", "nats_url", "with_jetstream"]

DEFAULT_URL = "nats://127.0.0.1:4222"
_T = TypeVar("_T")


def add_nats_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", help="pdjira config file (its nats.url is used)")
    where.add_argument("--nats", help=f"NATS URL (default $PDJIRA_NATS_URL or {DEFAULT_URL})")


def nats_url(args: argparse.Namespace) -> str:
    if args.config:
        return load_config(args.config).nats.url
    return str(args.nats or os.environ.get("PDJIRA_NATS_URL") or DEFAULT_URL)


async def with_jetstream(url: str, work: Callable[[JetStreamContext], Awaitable[_T]]) -> _T:
    """Run ``work`` with a JetStream context; ConfigError (said plainly) if NATS is not there."""
    try:
        nc = await asyncio.wait_for(
            nats.connect(url, connect_timeout=3, allow_reconnect=False), timeout=5
        )
    except Exception as exc:
        raise ConfigError(
            f"cannot connect to NATS at {url}: {type(exc).__name__}; is nats-server running "
            "and is the URL right (--nats or --config)?"
        ) from None
    try:
        return await work(nc.jetstream())
    finally:
        await nc.close()
