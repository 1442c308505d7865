"""``pdjira audit show KEY``: why pdjira did (or did not do) something.

Every decision of the rules service is an audit record in the AUDIT stream: the event, every
rule and configuration item considered with the reason it acted or not (a rule refused at load
says so), and the commands sent; the writers add a record of each attempt at those commands,
with every vendor call's status and latency and the outcome. ``KEY`` is a correlation id (the
id of the source event; it is in every log line), an issue key (``OPS-1``; ``--instance`` when
several instances have it), an entity (``pd:<account>:<incident id>``,
``jira:<instance>:<issue id>``) or a bare incident / issue id. ``pdjira trace`` shows the
same as one timeline, with the events and dead letters.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from pdjira_common import streams
from pdjira_common.contracts import AuditRecord, WriteRecord, decode_trail
from pdjira_common.trace import resolve

from pdjira_cli.nats_access import add_nats_options
from pdjira_cli.trace_cmd import add_trace_options, read_audit

__all__ = ["find_records", "format_record", "register", "select"]

Trail = AuditRecord | WriteRecord
_IDLE = 1.0  # seconds without a message: the stream has nothing more for us


def register(commands: Any) -> None:
    audit = commands.add_parser("audit", help="why pdjira did (or did not do) something")
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    show = sub.add_parser(
        "show", help="the decisions about one event, incident or issue, rule by rule"
    )
    show.add_argument(
        "key",
        help="correlation id, issue key (OPS-1), entity (pd:<account>:<id>, "
        "jira:<instance>:<id>) or bare id",
    )
    add_trace_options(show)
    show.add_argument("--json", action="store_true", help="one JSON audit record per line")
    add_nats_options(show)
    show.set_defaults(handler=_show)


def matches(record: AuditRecord, key: str) -> bool:
    """The record is about ``key``: its correlation id, its entity, or the entity's id."""
    return key in (record.correlation_id, record.event_id, record.entity) or (
        record.entity.rsplit(":", 1)[-1] == key
    )


def _in_target(entity: str, instance: str | None, account: str | None) -> bool:
    system, _, rest = entity.partition(":")
    target = rest.partition(":")[0]
    wanted = instance if system == "jira" else account if system == "pd" else None
    return wanted is None or target == wanted


def select(
    records: list[Trail],
    key: str,
    entities: set[str],
    *,
    instance: str | None = None,
    account: str | None = None,
) -> list[Trail]:
    """The decisions about ``key`` (or the ``entities`` it names) and the writers' records of
    the commands those decisions sent."""

    def about(record: AuditRecord) -> bool:
        if record.entity in entities:
            return True
        return matches(record, key) and _in_target(record.entity, instance, account)

    decisions = {r.correlation_id for r in records if isinstance(r, AuditRecord) and about(r)}
    return [
        r
        for r in records
        if (about(r) if isinstance(r, AuditRecord) else r.correlation_id in decisions)
        or (isinstance(r, WriteRecord) and key in (r.command_id, r.correlation_id))
    ]


async def find_records(
    js: JetStreamContext,
    key: str,
    since: timedelta,
    *,
    instance: str | None = None,
    account: str | None = None,
) -> list[Trail]:
    """Every audit record about ``key`` recorded within ``since``, oldest first: the rules
    service's decisions and the writers' records of the commands they sent. ``key`` may be an
    issue key too (TraceNotFound when it is in several instances and ``instance`` is None)."""
    entities = await resolve(js, key, instance=instance, account=account, since=since)
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=datetime.now(UTC) - since
    )
    sub = await js.subscribe("audit.>", stream=streams.AUDIT, ordered_consumer=True, config=config)
    found: list[Trail] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=_IDLE)
            except NatsTimeout:
                break
            # A newer kind of record is not ours to show.
            with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
                found.append(decode_trail(msg.data))
            if msg.metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    return select(found, key, entities, instance=instance, account=account)


def format_record(record: Trail) -> list[str]:
    if isinstance(record, WriteRecord):
        return _format_write(record)
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


def _format_write(record: WriteRecord) -> list[str]:
    lines = [
        f"{record.recorded_at}  {record.command}  {record.entity}  "
        f"(correlation {record.correlation_id})",
        f"  {record.service} {record.command_id} attempt {record.attempt}: "
        f"{record.outcome}: {record.detail}",
    ]
    for call in record.calls:
        answer = str(call.status) if call.status is not None else f"no answer ({call.error})"
        lines.append(f"  {call.method} {call.path} -> {answer} in {call.latency_ms:g} ms")
    return lines


def _show(args: argparse.Namespace) -> int:
    records = read_audit(
        "audit show",
        args,
        lambda js, since: find_records(
            js, args.key, since, instance=args.instance, account=args.account
        ),
        no_stream="no AUDIT stream: start a pdjira service once",
    )
    if isinstance(records, int):
        return records
    if not records:
        print(
            f"no audit records about {args.key!r} in the last {args.since:g} h; give a "
            "correlation id (from the logs), an issue key (OPS-1), pd:<account>:<incident id> "
            "or jira:<instance>:<issue id>, or look further back with --since",
            file=sys.stderr,
        )
        return 1
    for record in records:
        if args.json:
            print(msgspec.json.encode(record).decode())
        else:
            print("\n".join(format_record(record)))
    return 0
