"""The lane handler every writer runs: decode the command, let the writer apply it (once per
command id: ``command_log``), publish the outcome (the lane acks after it). A command that
failed for good is dead-lettered after its failure outcome is out.

``Writer.recover`` (look at the vendor for the command's write) runs only when the command may
have run before: its record says it was started, JetStream redelivers it (``num_delivered >
1``), ``pdjira dlq replay`` sent it back, or an earlier attempt in this process failed (the lane
retries in place and the record of the failed attempt's start says so: a create that timed
out may have been stored). A first delivery with no trace of an earlier run is applied
directly: no read before the write; so is the retry of an attempt that failed before it sent
any write (``writes_sent``: e.g. postponed by our own rate limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

import msgspec
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from pdjira_common import streams
from pdjira_common.bus import publish
from pdjira_common.contracts import Command, CommandFailed, Outcome, decode_command
from pdjira_common.headers import EVENT_STORED_AT_HEADER, MSG_ID_HEADER, REPLAY_MSG_ID_PREFIX
from pdjira_common.logging import bind_correlation_id, get_logger
from pdjira_common.retry import PermanentFailure, Unprocessable

from pdjira_writer.audit_trail import Attempts, publish_quietly, record_failure, record_outcome
from pdjira_writer.call_log import recording_calls
from pdjira_writer.command_log import CommandLog, CommandRecord
from pdjira_writer.metrics import WriterMetrics
from pdjira_writer.spec import WriterSpec
from pdjira_writer.writes_sent import counting_writes

__all__ = ["Writer", "decode", "make_command_handler", "redelivered"]

_log = get_logger(__name__)


class Writer(Protocol):
    """What a vendor's writer is to the kernel."""

    async def handle(self, command: Command) -> Outcome:
        """The outcome of ``command``; raises Retryable/WaitForPrerequisite to try again later."""
        ...

    async def recover(self, command: Command) -> Outcome | None:
        """The outcome of ``command`` if its write is found done at the vendor (it may have run
        before: started before a crash and never recorded done, redelivered, replayed, or an
        attempt that failed), else None: apply it (again). Not called on a first delivery with
        no trace of an earlier run: ``handle`` need not look for its own write then."""
        ...

    def outcome_subject(self, command: Command) -> str:
        """Where the outcome of ``command`` is announced (``outcomes.<system>.<target>``)."""
        ...

    def creates_prerequisite(self, data: bytes) -> bool:
        """Whether the command in ``data`` makes what its entity's other commands wait for
        (e.g. the issue): it may then run before a command of its lane that waits for it."""
        ...


def decode(data: bytes, subject: str, spec: WriterSpec) -> Command:
    try:
        return decode_command(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        # Dead-lettered at once with this reason (retrying cannot help, and would hold up the
        # commands behind it): a newer publisher's command waits there to be replayed.
        raise Unprocessable(
            f"cannot decode the command on {subject}: {exc}; if it is a new kind of command, "
            f"upgrade the {spec.name} and replay it from the DLQ"
        ) from exc


def _delivered(msg: Msg) -> int:
    try:
        return max(1, int(msg.metadata.num_delivered or 1))
    except Exception:  # not a JetStream message
        return 1


def redelivered(msg: Msg) -> bool:
    """Whether ``msg`` may have been handled before: a JetStream redelivery, or a dead letter
    sent back by ``pdjira dlq replay`` (a new message, but the same command)."""
    try:
        delivered = int(msg.metadata.num_delivered or 1)
    except Exception:  # not a JetStream message (no metadata): count it as seen before
        return True
    replayed = (msg.headers or {}).get(MSG_ID_HEADER, "").startswith(REPLAY_MSG_ID_PREFIX)
    return delivered > 1 or replayed


async def _handle_counting_writes(
    writer: Writer, command: Command, command_log: CommandLog, *, first_run: bool
) -> Outcome:
    """``writer.handle``; the first run of a command that fails before sending any write
    forgets its start: there is nothing to look for at the vendor, so the retry applies it
    directly. (After an earlier run, the start is kept: a search may find that run's write
    later, once the vendor's index has it.)"""
    with counting_writes() as writes:
        try:
            return await writer.handle(command)
        except Exception:
            if first_run and writes.sent == 0:
                with contextlib.suppress(Exception):  # kept: the retry searches, as before
                    await command_log.forget(command.command_id)
            raise


def sync_latency(msg: Msg, now: float) -> float | None:
    """Seconds from the command's source event stored in EVENTS (``EVENT_STORED_AT_HEADER``)
    to ``now``; None without the header (an older rules) or for a replayed dead letter (its
    latency is the time it spent in the DLQ, not the sync's)."""
    headers = msg.headers or {}
    stored_at = headers.get(EVENT_STORED_AT_HEADER)
    if stored_at is None or headers.get(MSG_ID_HEADER, "").startswith(REPLAY_MSG_ID_PREFIX):
        return None
    try:
        return max(0.0, now - float(stored_at))
    except ValueError:
        return None


def observe_sync_latency(metrics: WriterMetrics, msg: Msg, command: Command) -> None:
    seconds = sync_latency(msg, time.time())
    if seconds is not None:
        metrics.sync_seconds.labels(type(command).__name__).observe(seconds)


def make_command_handler(
    broker: NatsBroker,
    writer: Writer,
    metrics: WriterMetrics,
    spec: WriterSpec,
    command_log: CommandLog,
) -> Callable[[Msg], Awaitable[None]]:
    """The lane handler: decode, apply once, publish the outcome (the lane acks after it)."""

    async def apply_once(command: Command, *, seen_before: bool) -> Outcome:
        command_id = command.command_id
        record = await command_log.get(command_id)
        if record is not None and record.outcome is not None:
            _log.info("command_already_done", id=command_id)
            return record.outcome  # published again: JetStream drops the duplicate
        # A record without an outcome: started before, by a process that died or an attempt
        # that failed (the lane retries in place).
        may_have_run = record is not None or seen_before
        recovered = await writer.recover(command) if may_have_run else None
        if recovered is not None:
            _log.info("command_recovered", id=command_id)
            outcome = recovered
        else:
            await command_log.put(CommandRecord(command_id=command_id, state="started"))
            outcome = await _handle_counting_writes(
                writer, command, command_log, first_run=not may_have_run
            )
        if isinstance(outcome, CommandFailed):
            await command_log.forget(command.command_id)  # a replay from the DLQ runs it anew
        else:
            await command_log.put(
                CommandRecord(command_id=command.command_id, state="done", outcome=outcome)
            )
        return outcome

    attempts = Attempts()

    async def on_command(msg: Msg) -> None:
        command = decode(msg.data, msg.subject, spec)
        # The command's own correlation id is the trace id, whatever the headers said.
        bind_correlation_id(command.correlation_id)
        _log.info("command_received", command=type(command).__name__, id=command.command_id)
        attempt = attempts.next(command.command_id, delivered=_delivered(msg))
        started_at = datetime.now(UTC).isoformat()
        with recording_calls() as calls:
            try:
                outcome = await apply_once(command, seen_before=redelivered(msg))
            except Exception as exc:
                failure = record_failure(
                    spec.name,
                    command,
                    exc,
                    attempt=attempt,
                    started_at=started_at,
                    calls=tuple(calls.calls),
                )
                await publish_quietly(broker, failure, metrics.audit_failures)
                raise
        attempts.done(command.command_id)
        record = record_outcome(
            spec.name,
            command,
            outcome,
            attempt=attempt,
            started_at=started_at,
            calls=tuple(calls.calls),
        )
        # The audit record beside the outcome (one more publish, in parallel: no added wait).
        await asyncio.gather(
            publish(
                broker,
                outcome,
                writer.outcome_subject(command),
                stream=streams.OUTCOMES,
                # The same fact published again by a redelivered command is dropped by
                # JetStream; a replayed command's new outcome (another kind) is not.
                msg_id=f"outcome:{command.command_id}:{type(outcome).__name__}",
                correlation_id=command.correlation_id,
            ),
            publish_quietly(broker, record, metrics.audit_failures),
        )
        metrics.outcomes.labels(type(outcome).__name__).inc()
        if not isinstance(outcome, CommandFailed):
            observe_sync_latency(metrics, msg, command)
        _log.info("outcome_published", outcome=type(outcome).__name__, id=command.command_id)
        if isinstance(outcome, CommandFailed) and outcome.permanent:
            # Kept with what to fix, so that `pdjira dlq replay` redoes it after the fix.
            raise PermanentFailure(outcome.reason)

    return on_command
