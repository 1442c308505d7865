"""The lane handler every writer runs: decode the command, let the writer apply it, publish
the outcome (the lane acks after it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import msgspec
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from pdjira_common import streams
from pdjira_common.bus import publish
from pdjira_common.contracts import Command, Outcome, decode_command
from pdjira_common.logging import bind_correlation_id, get_logger
from pdjira_common.retry import Unprocessable

from pdjira_writer.metrics import WriterMetrics
from pdjira_writer.spec import WriterSpec

__all__ = ["Writer", "decode", "make_command_handler"]

_log = get_logger(__name__)


class Writer(Protocol):
    """What a vendor's writer is to the kernel."""

    async def handle(self, command: Command) -> Outcome:
        """The outcome of ``command``; raises Retryable/WaitForPrerequisite to try again later."""
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


def make_command_handler(
    broker: NatsBroker, writer: Writer, metrics: WriterMetrics, spec: WriterSpec
) -> Callable[[Msg], Awaitable[None]]:
    """The lane handler: decode, apply, publish the outcome (the lane acks after it)."""

    async def on_command(msg: Msg) -> None:
        command = decode(msg.data, msg.subject, spec)
        # The command's own correlation id is the trace id, whatever the headers said.
        bind_correlation_id(command.correlation_id)
        _log.info("command_received", command=type(command).__name__, id=command.command_id)
        outcome = await writer.handle(command)
        await publish(
            broker,
            outcome,
            writer.outcome_subject(command),
            stream=streams.OUTCOMES,
            # The same fact published again by a redelivered command is dropped by JetStream.
            msg_id=f"outcome:{command.command_id}",
            correlation_id=command.correlation_id,
        )
        metrics.outcomes.labels(type(outcome).__name__).inc()
        _log.info("outcome_published", outcome=type(outcome).__name__, id=command.command_id)

    return on_command
