"""``pdjira trace REF``: one timeline from the webhook received to the vendor write done.

``REF`` is an issue key (``OPS-1``), an incident or issue id, ``pd:<account>:<incident id>``,
``jira:<instance>:<issue id>`` or a correlation id (the source event's id, in every log line).
The trace of an issue includes its linked incident's path, and the other way round: the
event, every rule item considered and why, the commands, each writer attempt with every vendor
call (status, latency), the outcome, retries and dead letters.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pdjira_common.config import ConfigError
from pdjira_common.trace import TraceNotFound, collect, format_trace

from pdjira_cli.nats_access import add_nats_options, nats_settings, with_jetstream

__all__ = ["add_trace_options", "read_audit", "register", "since_of"]

_T = TypeVar("_T")

MAX_HOURS = 14 * 24.0  # the AUDIT stream's retention


def add_trace_options(parser: argparse.ArgumentParser) -> None:
    """``--instance``, ``--account``, ``--since`` (shared with ``audit show``)."""
    parser.add_argument("--instance", help="Jira instance of an issue key or id found in several")
    parser.add_argument("--account", help="PagerDuty account of an incident id found in several")
    parser.add_argument(
        "--since", type=float, default=24.0, help="hours to look back (default 24; max 336)"
    )


def since_of(args: argparse.Namespace) -> timedelta:
    return timedelta(hours=min(max(args.since, 0.0), MAX_HOURS))


def register(commands: Any) -> None:
    trace = commands.add_parser(
        "trace", help="what happened to an incident, issue or event, step by step"
    )
    trace.add_argument(
        "ref",
        metavar="REF",
        help="issue key (OPS-1), incident or issue id, pd:<account>:<id>, jira:<instance>:<id> "
        "or correlation id",
    )
    add_trace_options(trace)
    trace.add_argument("--json", action="store_true", help="the trace as one JSON object")
    add_nats_options(trace)
    trace.set_defaults(handler=_trace)


def read_audit(
    command: str,
    args: argparse.Namespace,
    read: Callable[[JetStreamContext, timedelta], Awaitable[_T]],
    *,
    no_stream: str,
) -> _T | int:
    """``read(js, since)`` over the stack's NATS; on failure the message said on stderr and the
    exit status: 1 nothing found (TraceNotFound), 2 no NATS or no stream (``no_stream``)."""
    since = since_of(args)
    try:
        return asyncio.run(with_jetstream(nats_settings(args), lambda js: read(js, since)))
    except TraceNotFound as exc:
        print(f"pdjira {command}: {exc}", file=sys.stderr)
        return 1
    except (ConfigError, NotFoundError) as exc:
        print(f"pdjira {command}: {exc or no_stream}", file=sys.stderr)
        return 2


def _trace(args: argparse.Namespace) -> int:
    trace = read_audit(
        "trace",
        args,
        lambda js, since: collect(
            js, args.ref, instance=args.instance, account=args.account, since=since
        ),
        no_stream="a pdjira stream is missing: start a pdjira service once",
    )
    if isinstance(trace, int):
        return trace
    if args.json:
        print(msgspec.json.encode(trace).decode())
    else:
        print("\n".join(format_trace(trace)))
    return 0
