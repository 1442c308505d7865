"""Thin handlers: commands through per-entity lanes; reads for others as request/reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

import msgspec
from faststream.nats import NatsBroker, NatsMessage
from nats.aio.msg import Msg
from pdjira_common import streams, subjects
from pdjira_common.bus import Unprocessable, publish
from pdjira_common.contracts import (
    AddComment,
    Command,
    CreateIssue,
    TransitionIssue,
    UpdateIssueFields,
    decode_command,
)
from pdjira_common.logging import bind_correlation_id, get_logger
from pdjira_common.requests import (
    JiraCatalogRead,
    JiraCreateMetaRead,
    JiraPrioritiesRead,
    JiraSearchRead,
    JiraStatusesRead,
    JiraUserSearch,
)

from pdjira_jira_writer.metrics import JiraWriterMetrics
from pdjira_jira_writer.reads import CATALOGS, JiraReads
from pdjira_jira_writer.writer import JiraWriter

__all__ = [
    "CONSUMER",
    "QUEUE_GROUP",
    "decode",
    "is_create",
    "make_command_handler",
    "outcome_subject",
    "register_reads",
]

CONSUMER = "jira-writer"
QUEUE_GROUP = "jira-writer"  # replicas share the reads
_log = get_logger(__name__)


def decode(data: bytes, subject: str) -> Command:
    try:
        return decode_command(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        # Dead-lettered at once with this reason (retrying cannot help, and would hold up the
        # commands behind it): a newer publisher's command waits there to be replayed.
        raise Unprocessable(
            f"cannot decode the command on {subject}: {exc}; "
            "if it is a new kind of command, upgrade the jira-writer and replay it from the DLQ"
        ) from exc


def is_create(msg: Msg) -> bool:
    """Creates may overtake a command of their entity that waits for the issue to exist."""
    return b'"jira.create_issue.v1"' in msg.data


def outcome_subject(command: Command) -> str:
    """``outcomes.jira.<instance>``; a misrouted PagerDuty command reports under "unknown"."""
    instance = (
        command.instance
        if isinstance(command, CreateIssue | TransitionIssue | UpdateIssueFields | AddComment)
        else "unknown"
    )
    return subjects.outcome("jira", instance)


def make_command_handler(
    broker: NatsBroker, writer: JiraWriter, metrics: JiraWriterMetrics
) -> Callable[[Msg], Awaitable[None]]:
    """The lane handler: decode, apply, publish the outcome (the lane acks after it)."""

    async def on_command(msg: Msg) -> None:
        command = decode(msg.data, msg.subject)
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

    return on_command


def register_reads(broker: NatsBroker, reads: JiraReads) -> None:
    """``reads.jira.<instance>.<what>``: answered with the instance's client (same budget)."""

    def responder(
        what: str, request_type: type[msgspec.Struct], answer: Callable[..., Awaitable[bytes]]
    ) -> None:
        decoder = msgspec.json.Decoder(request_type)

        @broker.subscriber(f"reads.jira.*.{what}", queue=QUEUE_GROUP)
        async def on_read(message: NatsMessage) -> bytes:
            # Core request/reply: every failure becomes an answer with ``error``.
            try:
                request = decoder.decode(message.body)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                return reads.refused(what, f"not a {request_type.__name__}: {exc}")
            return await answer(request)

    responder("users_by_email", JiraUserSearch, reads.users)
    responder("search", JiraSearchRead, reads.search)
    responder("createmeta", JiraCreateMetaRead, reads.create_meta)
    responder("statuses", JiraStatusesRead, reads.statuses)
    responder("priorities", JiraPrioritiesRead, reads.priorities)
    for what in CATALOGS:
        responder(what, JiraCatalogRead, partial(reads.catalog, what))
