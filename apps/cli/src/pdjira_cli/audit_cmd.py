"""``pdjira audit show KEY``: why pdjira did (or did not do) something.

Every decision of the rules service is an audit record in the AUDIT stream: the event, every
rule and configuration item considered with the reason it acted or not, and the commands sent.
``KEY`` is a correlation id (the id of the source event; it is in every log line), an entity
(``pd:<account>:<incident id>``, ``jira:<instance>:<issue id>``) or a bare incident / issue id.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pdjira_common import streams
from pdjira_common.config import ConfigError
from pdjira_common.contracts import AuditRecord

from pdjira_cli.nats_access import add_nats_options, nats_settings, with_jetstream

__all__ = ["find_records", "format_record", "register"]

_decoder = msgspec.json.Decoder(AuditRecord)
_IDLE = 1.0  # seconds without a message: the stream has nothing more for us


def register(commands: Any) -> None:
    audit = commands.add_parser("audit", help="why pdjira did (or did not do) something")
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    show = sub.add_parser(
        "show", help="the decisions about one event, incident or issue, rule by rule"
    )
    show.add_argument(
        "key", help="correlation id, entity (pd:<account>:<id>, jira:<instance>:<id>) or bare id"
    )
    show.add_argument(
        "--since", type=float, default=24.0, help="hours to look back (default 24; max 336)"
    )
    show.add_argument("--json", action="store_true", help="one JSON audit record per line")
    add_nats_options(show)
    show.set_defaults(handler=_show)


def matches(record: AuditRecord, key: str) -> bool:
    """The record is about ``key``: its correlation id, its entity, or the entity's id."""
    return key in (record.correlation_id, record.event_id, record.entity) or (
        record.entity.rsplit(":", 1)[-1] == key
    )


async def find_records(js: JetStreamContext, key: str, since: timedelta) -> list[AuditRecord]:
    """Every audit record about ``key`` recorded within ``since``, oldest first."""
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=datetime.now(UTC) - since
    )
    sub = await js.subscribe("audit.>", stream=streams.AUDIT, ordered_consumer=True, config=config)
    found: list[AuditRecord] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=_IDLE)
            except NatsTimeout:
                break
            record = _decoder.decode(msg.data)
            if matches(record, key):
                found.append(record)
            if msg.metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return found


def format_record(record: AuditRecord) -> list[str]:
    lines = [
        f"{record.recorded_at}  {record.event_type}  {record.entity}  "
        f"(correlation {record.correlation_id})",
        f"  {record.summary}"
        + (f"; commands: {', '.join(record.command_ids)}" if record.command_ids else ""),
    ]
    for verdict in record.verdicts:
        mark = "+" if verdict.matched else "-"
        item = f" / {verdict.item}" if verdict.item else ""
        lines.append(f"  {mark} {verdict.rule}{item}: {verdict.reason}")
    return lines


def _show(args: argparse.Namespace) -> int:
    since = timedelta(hours=min(max(args.since, 0.0), 14 * 24.0))
    try:
        records = asyncio.run(
            with_jetstream(nats_settings(args), lambda js: find_records(js, args.key, since))
        )
    except (ConfigError, NotFoundError) as exc:
        print(
            f"pdjira audit show: {exc or 'no AUDIT stream: start a pdjira service once'}",
            file=sys.stderr,
        )
        return 2
    if not records:
        print(
            f"no audit records about {args.key!r} in the last {args.since:g} h; give a "
            "correlation id (from the logs), pd:<account>:<incident id> or "
            "jira:<instance>:<issue id>, or look further back with --since",
            file=sys.stderr,
        )
        return 1
    for record in records:
        if args.json:
            print(msgspec.json.encode(record).decode())
        else:
            print("\n".join(format_record(record)))
    return 0
