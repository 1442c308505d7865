"""Per-entity write order: the cause time of the last status write a writer applied, and the
pure rule that refuses an older cause ("never move backwards because an older event arrived late").

Why the writer's own KV record and not mapping's ``written`` state: mapping learns of a write
only when it consumes the outcome, after the writer acked, so the next command of the same
entity can be decided before mapping knows; and mapping keeps the time of the *write*, while
the order that matters is the time of the *source event* that caused it. The writer records
``caused_at`` itself, synchronously, before it publishes the outcome; per-entity lanes make it
the only writer of that key at a time. Each writer compares causes from one clock only (Jira
writes are caused by PagerDuty events, PagerDuty writes by Jira events).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import msgspec
from faststream.nats import NatsBroker
from nats.js.kv import KeyValue
from pdjira_common.kv_records import KvRecords, bucket_opener
from pdjira_common.streams import KV_WRITES
from pdjira_common.subjects import token

__all__ = [
    "KvLastWrites",
    "LastWrite",
    "LastWrites",
    "StatusCommand",
    "cause_time",
    "kv_last_writes",
    "older_than_last",
    "parse_time",
    "record_write",
    "stale_reason",
    "write_key",
]


class LastWrite(msgspec.Struct, frozen=True, kw_only=True):
    """The last status written (or found already there) for one entity, and its cause time.

    ``vendor_changed_at``: the vendor's time of that status change (PagerDuty's
    ``last_status_change_at`` after our write), so that a later read can tell our change from
    a person's."""

    caused_at: str
    status: str
    command_id: str
    vendor_changed_at: str | None = None


_WHOLE_SECOND = timedelta(microseconds=999_999)


def write_key(system: str, scope: str, entity: str) -> str:
    """``<system>.<scope>.<entity>``, e.g. ``pd.acme.PGR0VU2``."""
    return f"{token(system)}.{token(scope)}.{token(entity)}"


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 time (PagerDuty's ``Z``, Jira's ``+0000``), as UTC when it names no zone;
    None when it cannot be read."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cause_time(value: str) -> datetime | None:
    """When a change happened, as late as it may have: a time given to the whole second (all
    PagerDuty's REST API says, so every change reconciliation recovers there) may be anywhere in
    that second, and is taken at its end. Two changes within one second on two systems have no
    knowable order; the one we are asked to write then applies rather than being dropped."""
    parsed = parse_time(value)
    if parsed is None or "." in value.partition("T")[2]:
        return parsed
    return parsed + _WHOLE_SECOND


def older_than_last(caused_at: str | None, last: LastWrite | None) -> str | None:
    """Why the write must be skipped (its cause is older than the last applied one), or None.

    No cause time (older publishers), no record, or a time that cannot be read: apply.
    An equal time applies (a redelivered command is then skipped by convergence instead)."""
    if caused_at is None or last is None:
        return None
    cause, previous = cause_time(caused_at), cause_time(last.caused_at)
    if cause is None or previous is None or cause >= previous:
        return None
    return (
        f"older than the last change we wrote ({caused_at} < {last.caused_at}, "
        f"which set '{last.status}' by command {last.command_id})"
    )


class LastWrites(Protocol):
    async def get(self, key: str) -> LastWrite | None: ...

    async def put(self, key: str, value: LastWrite) -> None: ...


async def stale_reason(last_writes: LastWrites, key: str, caused_at: str | None) -> str | None:
    """Why a status write caused at ``caused_at`` must be skipped, or None to go on."""
    return older_than_last(caused_at, await last_writes.get(key))


class StatusCommand(Protocol):
    """A command that sets a status, as the write order knows it."""

    @property
    def command_id(self) -> str: ...

    @property
    def caused_at(self) -> str | None: ...


async def record_write(
    last_writes: LastWrites,
    key: str,
    command: StatusCommand,
    status: str,
    *,
    vendor_changed_at: str | None = None,
) -> None:
    """Record ``status`` as written (or found there) by ``command`` as of its cause, before
    the outcome goes out: the entity's next command is decided against it."""
    if command.caused_at is None:
        return  # nothing to order by (an older publisher's command)
    await last_writes.put(
        key,
        LastWrite(
            caused_at=command.caused_at,
            status=status,
            command_id=command.command_id,
            vendor_changed_at=vendor_changed_at,
        ),
    )


class KvLastWrites:
    """The record in KV bucket ``pdjira_writes`` (declared in streams.py), opened on first use;
    a KV failure retries the command."""

    def __init__(self, open_bucket: Callable[[], Awaitable[KeyValue]]) -> None:
        self._records = KvRecords(open_bucket, LastWrite)

    async def get(self, key: str) -> LastWrite | None:
        return await self._records.get(key, f"the write order of {key}")

    async def put(self, key: str, value: LastWrite) -> None:
        await self._records.put(key, value, f"the write order of {key}")


def kv_last_writes(broker: NatsBroker) -> KvLastWrites:
    """The record in bucket ``pdjira_writes`` through ``broker``'s connection."""
    return KvLastWrites(bucket_opener(broker, KV_WRITES))
