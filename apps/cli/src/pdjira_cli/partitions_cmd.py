"""``pdjira partitions``: which replica consumes which partition, and each one's backlog.

Rules and the writers consume the EVENTS and COMMANDS streams partition by partition, one
replica per partition at a time (``pdjira_common.partition_lanes``). This reads the replicas'
member keys and partition leases (KV ``pdjira_partitions``) and every partition consumer's
backlog: a partition no replica holds, or one whose backlog only grows, is where to look.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, NoKeysError, NotFoundError
from pdjira_common import streams
from pdjira_common.config import ConfigError

from pdjira_cli.nats_access import add_nats_options, nats_settings, with_jetstream

__all__ = ["Partition", "read_partitions", "register", "render"]

_RELEASED = "released:"


@dataclass(frozen=True)
class Partition:
    stream: str
    group: str  # the service: rules, jira-writer, pd-writer
    durable: str
    holder: str  # a replica id; "-" when no one holds it (released or expired)
    pending: int  # not yet delivered
    unacked: int  # delivered, not acked yet


def register(commands: Any) -> None:
    action = commands.add_parser(
        "partitions", help="which replica consumes which partition, and each one's backlog"
    )
    add_nats_options(action)
    action.set_defaults(handler=_show)


def group_of(durable: str) -> str:
    """``jira-writer-p3`` -> ``jira-writer``; a service's own durable is its group."""
    base, _, number = durable.rpartition("-p")
    return base if base and number.isdigit() else durable


async def read_partitions(js: JetStreamContext) -> tuple[list[Partition], dict[str, list[str]]]:
    """Every partition consumer (and its service's original durable), and the live replicas
    of each service."""
    leases: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    try:
        kv = await js.key_value(streams.KV_PARTITIONS)
        keys = await kv.keys()
    except (BucketNotFoundError, NoKeysError, NotFoundError):
        keys = []
    for key in keys:
        kind, _, rest = key.partition(".")
        if kind == "m":
            group, _, replica = rest.partition(".")
            members.setdefault(group, []).append(replica)
        elif kind == "l":
            try:
                value = ((await kv.get(key)).value or b"").decode(errors="replace")
            except KeyNotFoundError:
                continue
            leases[rest] = "-" if value.startswith(_RELEASED) else value
    groups = {group_of(durable) for durable in leases} | set(members)
    found: list[Partition] = []
    for stream in (streams.EVENTS, streams.COMMANDS):
        for info in await js.consumers_info(stream):
            durable = info.config.durable_name or ""
            if group_of(durable) not in groups:
                continue
            found.append(
                Partition(
                    stream=stream,
                    group=group_of(durable),
                    durable=durable,
                    holder=leases.get(durable, "-"),
                    pending=info.num_pending or 0,
                    unacked=info.num_ack_pending or 0,
                )
            )
    found.sort(key=lambda p: (p.group, _partition_number(p.durable)))
    return found, {group: sorted(ids) for group, ids in members.items()}


def _partition_number(durable: str) -> int:
    number = durable.rpartition("-p")[2]
    return int(number) if durable != group_of(durable) else -1


def render(partitions: list[Partition], members: dict[str, list[str]]) -> list[str]:
    lines: list[str] = []
    for group in sorted({p.group for p in partitions} | set(members)):
        replicas = ", ".join(members.get(group, [])) or "none"
        lines.append(f"{group}: replicas {replicas}")
        for p in (p for p in partitions if p.group == group):
            # The service's original durable drains what was stored before partitioning.
            name = f"{p.durable} (unpartitioned)" if p.durable == group else p.durable
            lines.append(
                f"  {name:<28} {p.stream:<8} held by {p.holder:<28} "
                f"pending {p.pending:<7} unacked {p.unacked}"
            )
    return lines


def _show(args: argparse.Namespace) -> int:
    try:
        partitions, members = asyncio.run(with_jetstream(nats_settings(args), read_partitions))
    except ConfigError as exc:
        print(f"pdjira partitions: {exc}", file=sys.stderr)
        return 2
    if not partitions and not members:
        print("no partitioned consumers yet: start rules or a writer once")
        return 0
    for line in render(partitions, members):
        print(line)
    return 0
