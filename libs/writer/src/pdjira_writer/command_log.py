"""Exactly once per command: which commands a writer has started and finished, by command id
(KV bucket ``pdjira_done``, entries expire after ``DONE_TTL``).

A command is recorded ``started`` before its vendor writes and ``done``, with its outcome,
before the outcome is published. A redelivery (a crash before the ack, a replica that took it
over) of a ``done`` command runs nothing: its recorded outcome is published again (JetStream
drops the duplicate). One found ``started`` but never ``done`` may have written before the
crash: the writer first looks for that write at the vendor (``Writer.recover``).

A command that failed for good is forgotten, so that ``pdjira dlq replay`` (the same command id)
runs it again after the fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

import msgspec
from faststream.nats import NatsBroker
from nats.js.kv import KeyValue
from pdjira_common.contracts import Outcome
from pdjira_common.kv_records import KvRecords, bucket_opener
from pdjira_common.streams import KV_DONE

__all__ = [
    "CommandLog",
    "CommandRecord",
    "KvCommandLog",
    "MemoryCommandLog",
    "command_key",
    "kv_command_log",
]


class CommandRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Where a command is: ``started`` (its writes may have happened) or ``done``."""

    command_id: str
    state: Literal["started", "done"]
    outcome: Outcome | None = None  # set when done


def command_key(command_id: str) -> str:
    """A KV key for any command id (ids carry ``:`` and may be long): a digest of it."""
    return hashlib.sha256(command_id.encode()).hexdigest()[:40]


class CommandLog(Protocol):
    async def get(self, command_id: str) -> CommandRecord | None: ...

    async def put(self, record: CommandRecord) -> None: ...

    async def forget(self, command_id: str) -> None: ...


class MemoryCommandLog:
    """The record in a dict (tests that drive the handler without NATS)."""

    def __init__(self) -> None:
        self.records: dict[str, CommandRecord] = {}

    async def get(self, command_id: str) -> CommandRecord | None:
        return self.records.get(command_id)

    async def put(self, record: CommandRecord) -> None:
        self.records[record.command_id] = record

    async def forget(self, command_id: str) -> None:
        self.records.pop(command_id, None)


class KvCommandLog:
    """The record in KV bucket ``pdjira_done`` (declared in streams.py), opened on first use.
    A KV failure retries the command (its record decides whether it runs)."""

    def __init__(self, open_bucket: Callable[[], Awaitable[KeyValue]]) -> None:
        self._records = KvRecords(open_bucket, CommandRecord)

    async def get(self, command_id: str) -> CommandRecord | None:
        return await self._records.get(command_key(command_id), f"the record of {command_id}")

    async def put(self, record: CommandRecord) -> None:
        await self._records.put(
            command_key(record.command_id), record, f"command {record.command_id}"
        )

    async def forget(self, command_id: str) -> None:
        await self._records.delete(command_key(command_id), f"command {command_id}")


def kv_command_log(broker: NatsBroker) -> KvCommandLog:
    """The record in bucket ``pdjira_done`` through ``broker``'s connection."""
    return KvCommandLog(bucket_opener(broker, KV_DONE))
