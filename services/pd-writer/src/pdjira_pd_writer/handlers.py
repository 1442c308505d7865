"""Thin handlers: commands through per-entity lanes; reads for others as request/reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

import msgspec
from faststream.nats import NatsBroker, NatsMessage
from nats.aio.msg import Msg
from pdjira_common import streams, subjects
from pdjira_common.bus import Retryable, Unprocessable, publish
from pdjira_common.contracts import Command, CreateIncident, decode_command, encode
from pdjira_common.logging import bind_correlation_id, get_logger
from pdjira_common.requests import (
    PdCatalogRead,
    PdNamed,
    PdNamesReply,
    PdUser,
    PdUserRead,
    PdUserReply,
    PdUserSearch,
)

from pdjira_pd_writer.errors import PagerDutyError
from pdjira_pd_writer.metrics import PdWriterMetrics
from pdjira_pd_writer.models import User
from pdjira_pd_writer.pd_client import PagerDutyApi
from pdjira_pd_writer.writer import PdWriter

__all__ = [
    "CONSUMER",
    "QUEUE_GROUP",
    "decode",
    "make_command_handler",
    "outcome_subject",
    "register_reads",
]

CONSUMER = "pd-writer"
QUEUE_GROUP = "pd-writer"
_log = get_logger(__name__)


def decode(data: bytes, subject: str) -> Command:
    try:
        return decode_command(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        # Dead-lettered at once with this reason (retrying cannot help, and would hold up the
        # commands behind it): a newer publisher's command waits there to be replayed.
        raise Unprocessable(
            f"cannot decode the command on {subject}: {exc}; "
            "if it is a new kind of command, upgrade the pd-writer and replay it from the DLQ"
        ) from exc


def outcome_subject(command: Command) -> str:
    """``outcomes.pd.<account>``."""
    if isinstance(command, CreateIncident):
        return subjects.outcome("pd", command.account)
    return subjects.outcome("pd", command.incident.account)


def make_command_handler(
    broker: NatsBroker, writer: PdWriter, metrics: PdWriterMetrics
) -> Callable[[Msg], Awaitable[None]]:
    """The lane handler: decode, apply, publish the outcome (the lane acks after it)."""

    async def on_command(msg: Msg) -> None:
        command = decode(msg.data, msg.subject)
        bind_correlation_id(command.correlation_id)
        _log.info("command_received", command=type(command).__name__, id=command.command_id)
        outcome = await writer.handle(command)
        await publish(
            broker,
            outcome,
            outcome_subject(command),
            stream=streams.OUTCOMES,
            msg_id=f"outcome:{command.command_id}",
            correlation_id=command.correlation_id,
        )
        metrics.outcomes.labels(type(outcome).__name__).inc()
        _log.info("outcome_published", outcome=type(outcome).__name__, id=command.command_id)

    return on_command


def _user(user: User) -> PdUser:
    return PdUser(id=user.id, email=user.email, name=user.name)


def register_reads(broker: NatsBroker, clients: Mapping[str, PagerDutyApi]) -> None:
    """``reads.pd.<account>.user``, ``.users_by_email``, ``.services`` and ``.priorities``,
    through the account's pacer."""
    by_id = msgspec.json.Decoder(PdUserRead)
    by_email = msgspec.json.Decoder(PdUserSearch)
    catalog = msgspec.json.Decoder(PdCatalogRead)

    def client_of(account: str) -> PagerDutyApi | str:
        client = clients.get(account)
        if client is None:
            return f"unknown PagerDuty account '{account}' (configured: {sorted(clients)})"
        return client

    @broker.subscriber("reads.pd.*.user", queue=QUEUE_GROUP)
    async def on_user(message: NatsMessage) -> bytes:
        try:
            request = by_id.decode(message.body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return encode(PdUserReply(error=f"not a PdUserRead: {exc}"))
        client = client_of(request.account)
        if isinstance(client, str):
            return encode(PdUserReply(error=client))
        try:
            user = await client.get_user(request.user_id)
        except PagerDutyError as exc:
            if exc.status_code == 404:
                return encode(PdUserReply())
            return encode(PdUserReply(error=exc.reason))
        except Retryable as exc:
            return encode(PdUserReply(error=exc.reason))
        return encode(PdUserReply(user=_user(user)))

    @broker.subscriber("reads.pd.*.users_by_email", queue=QUEUE_GROUP)
    async def on_users_by_email(message: NatsMessage) -> bytes:
        try:
            request = by_email.decode(message.body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return encode(PdUserReply(error=f"not a PdUserSearch: {exc}"))
        client = client_of(request.account)
        if isinstance(client, str):
            return encode(PdUserReply(error=client))
        try:
            found = await client.users_by_email(request.email)
        except (PagerDutyError, Retryable) as exc:
            return encode(PdUserReply(error=exc.reason))
        return encode(PdUserReply(user=_user(found[0]) if found else None))

    async def names(message: NatsMessage, what: str) -> bytes:
        try:
            request = catalog.decode(message.body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return encode(PdNamesReply(error=f"not a PdCatalogRead: {exc}"))
        if request.what != what:
            return encode(
                PdNamesReply(error=f"a PdCatalogRead of {request.what!r} was sent on {what!r}")
            )
        client = client_of(request.account)
        if isinstance(client, str):
            return encode(PdNamesReply(error=client))
        try:
            if what == "priorities":
                # An account without the priorities feature: an empty list, not an error.
                items = tuple(PdNamed(id=p.id, name=p.label) for p in await client.priorities())
            else:
                items = tuple(
                    PdNamed(id=s.id, name=s.name or s.summary or s.id)
                    for s in await client.services()
                )
        except (PagerDutyError, Retryable) as exc:
            _log.warning("read_failed", what=what, reason=exc.reason)
            return encode(PdNamesReply(error=exc.reason))
        return encode(PdNamesReply(items=items))

    @broker.subscriber("reads.pd.*.services", queue=QUEUE_GROUP)
    async def on_services(message: NatsMessage) -> bytes:
        return await names(message, "services")

    @broker.subscriber("reads.pd.*.priorities", queue=QUEUE_GROUP)
    async def on_priorities(message: NatsMessage) -> bytes:
        return await names(message, "priorities")
