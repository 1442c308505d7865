"""Thin NATS handler: decode the command, apply it, publish the outcome, then ack."""

from __future__ import annotations

import msgspec
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from pdjira_common import streams, subjects
from pdjira_common.bus import Unprocessable, publish
from pdjira_common.config import RetrySettings
from pdjira_common.contracts import (
    AddComment,
    Command,
    CreateIssue,
    TransitionIssue,
    decode_command,
)
from pdjira_common.logging import bind_correlation_id, get_logger

from pdjira_jira_writer.metrics import JiraWriterMetrics
from pdjira_jira_writer.writer import JiraWriter

__all__ = ["CONSUMER", "decode", "outcome_subject", "register"]

CONSUMER = "jira-writer"
_log = get_logger(__name__)


def decode(message: NatsMessage) -> Command:
    try:
        return decode_command(message.body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        # Dead-lettered at once with this reason (retrying cannot help, and would hold up the
        # commands behind it): a newer publisher's command waits there to be replayed.
        raise Unprocessable(
            f"cannot decode the command on {message.raw_message.subject}: {exc}; "
            "if it is a new kind of command, upgrade the jira-writer and replay it from the DLQ"
        ) from exc


def outcome_subject(command: Command) -> str:
    """``outcomes.jira.<instance>``; a misrouted PagerDuty command reports under "unknown"."""
    instance = (
        command.instance
        if isinstance(command, CreateIssue | TransitionIssue | AddComment)
        else "unknown"
    )
    return subjects.outcome("jira", instance)


def register(
    broker: NatsBroker, writer: JiraWriter, metrics: JiraWriterMetrics, retry: RetrySettings
) -> None:
    """Attach the command consumer to ``broker``."""

    @broker.subscriber(
        subjects.ALL_COMMANDS_JIRA,
        stream=JStream(streams.COMMANDS, declare=False),
        durable=CONSUMER,
        # One message at a time keeps commands for one issue in order. Per-entity
        # concurrency (parallel across issues, serial within one) comes later.
        pull_sub=PullSub(batch_size=1, timeout=1.0),
        # A writer killed mid-command gets its message redelivered after ack_wait.
        config=ConsumerConfig(ack_wait=retry.ack_wait),
    )
    async def on_command(message: NatsMessage) -> None:
        command = decode(message)
        # The command's own correlation id is the trace id, whatever the headers said.
        bind_correlation_id(command.correlation_id)
        _log.info("command_received", command=type(command).__name__, id=command.command_id)
        outcome = await writer.handle(command)
        await publish(
            broker,
            outcome,
            outcome_subject(command),
            stream=streams.OUTCOMES,
            # The same fact published again by a redelivered command is dropped by JetStream.
            msg_id=f"outcome:{command.command_id}",
            correlation_id=command.correlation_id,
        )
        metrics.outcomes.labels(type(outcome).__name__).inc()
        _log.info("outcome_published", outcome=type(outcome).__name__, id=command.command_id)
