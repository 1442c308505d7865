"""NATS wiring shared by the services: broker factory, JetStream publish, the retry middleware.

A FastStream subscriber's failures go through the one retry policy (``retry.after_failure``):
a retry is a *delayed* nak, bounded; a message that runs out of attempts (or can never be
handled) is copied to the DLQ stream with the reason (``dead_letters``), then acked. Nothing is
ever ``term``-ed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec
from fast_depends.exceptions import ValidationError as ArgumentError
from fast_depends.msgspec import MsgSpecSerializer
from faststream import AckPolicy, BaseMiddleware, SourceType
from faststream.exceptions import AckMessage, HandlerException, NackMessage
from faststream.message import StreamMessage
from faststream.nats import NatsBroker, PubAck
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError, ConnectionReconnectingError, NotJSMessageError
from nats.js import JetStreamContext

from pdjira_common.config import NatsSettings, RetrySettings
from pdjira_common.consumers import poison_reason, subscriber_poison_deliveries
from pdjira_common.contracts import encode
from pdjira_common.dead_letters import send_to_dlq
from pdjira_common.delivery_metrics import DeliveryMetrics
from pdjira_common.headers import CORRELATION_HEADER, MSG_ID_HEADER
from pdjira_common.logging import bind_correlation_id, get_logger
from pdjira_common.nats_connect import broker_security, servers
from pdjira_common.retry import (
    DeadLetterNow,
    Retryable,
    Unprocessable,
    WaitForPrerequisite,
    after_failure,
    is_expected,
    reason_of,
    retry_delay,
)
from pdjira_common.secrets import redact
from pdjira_common.subjects import msg_id as bounded_msg_id

__all__ = [
    "CORRELATION_HEADER",
    "MSG_ID_HEADER",
    "Retryable",
    "Unprocessable",
    "WaitForPrerequisite",
    "close_client",
    "jetstream",
    "make_broker",
    "nats_client",
    "publish",
    "retry_delay",
]

_log = get_logger(__name__)


def nats_client(broker: NatsBroker) -> Client:
    """The connected broker's nats-py client (FastStream's public ``connection``): the one place
    services reach below FastStream, for KV watches, core request/reply and pull consumers."""
    client: Client = broker.connection
    return client


def jetstream(broker: NatsBroker) -> JetStreamContext:
    """A JetStream context on the connected broker's nats-py client."""
    return nats_client(broker).jetstream()


async def publish(
    broker: NatsBroker,
    message: msgspec.Struct | bytes,
    subject: str,
    *,
    stream: str,
    msg_id: str,
    correlation_id: str,
    timeout: float = 5.0,
    headers: Mapping[str, str] | None = None,
) -> PubAck:
    """Publish to JetStream and wait for the PubAck; ``msg_id`` dedupes retries of the same fact.
    ``message`` is a contract, or one already encoded (by a caller that had to measure it);
    ``headers``: more headers (e.g. ``EVENT_STORED_AT_HEADER``)."""
    ack: PubAck = await broker.publish(
        message if isinstance(message, bytes) else encode(message),
        subject,
        stream=stream,
        headers={
            **(headers or {}),
            MSG_ID_HEADER: bounded_msg_id(msg_id),
            CORRELATION_HEADER: correlation_id,
            "content-type": "application/json",
        },
        correlation_id=correlation_id,
        timeout=timeout,
    )
    return ack


def _delivery(raw: Any) -> Msg.Metadata | None:
    """The JetStream delivery of a raw message; None for core NATS (request/reply) and watches,
    which have nothing to redeliver."""
    if not isinstance(raw, Msg):
        return None
    try:
        return raw.metadata
    except NotJSMessageError:
        return None


class _RetryMiddleware(BaseMiddleware):
    """Turns a JetStream handler's failure into what the retry policy says: a delayed nak, or a
    dead letter and an ack."""

    def __init__(
        self,
        msg: Any,
        /,
        *,
        context: Any,
        settings: RetrySettings,
        consumer: str,
        broker_ref: list[NatsBroker],
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        super().__init__(msg, context=context)
        self.settings = settings
        self.consumer = consumer
        self.broker_ref = broker_ref
        self.metrics = metrics

    async def consume_scope(
        self,
        call_next: Callable[[StreamMessage[Any]], Awaitable[Any]],
        msg: StreamMessage[Any],
    ) -> Any:
        if msg.source_type is SourceType.RESPONSE:
            # A reply to broker.request() made inside a handler also passes through here: it is
            # not a delivery to retry, and must not rebind the handler's correlation id.
            return await call_next(msg)
        correlation = (msg.headers or {}).get(CORRELATION_HEADER) or msg.correlation_id
        if correlation:
            bind_correlation_id(correlation)
        delivery = _delivery(msg.raw_message)
        if delivery is None:
            return await call_next(msg)
        deliveries = int(delivery.num_delivered or 1)
        if deliveries > subscriber_poison_deliveries(self.settings):
            # More deliveries than the retry policy ever takes: the handler (or the service)
            # died on it each time, before any failure could be counted (``consumers``).
            await send_to_dlq(
                jetstream(self.broker_ref[0]),
                msg.raw_message,
                consumer=self.consumer,
                reason=poison_reason(deliveries),
                attempts=deliveries,
                correlation_id=correlation,
            )
            raise AckMessage()
        try:
            return await call_next(msg)
        except HandlerException:
            raise
        except (ArgumentError, msgspec.ValidationError, msgspec.DecodeError) as exc:
            # The body is not what the typed handler takes: retrying cannot help.
            cause = getattr(exc, "original_error", None) or exc
            reason = redact(f"the message does not decode as the handler's type: {cause}")
            await self._retry_or_dead_letter(msg, Unprocessable(reason), delivery, correlation)
        except Exception as exc:
            if not is_expected(exc):
                _log.exception("handler_failed", reason=reason_of(exc))
            await self._retry_or_dead_letter(msg, exc, delivery, correlation)
        return None

    async def _retry_or_dead_letter(
        self,
        msg: StreamMessage[Any],
        error: Exception,
        delivery: Msg.Metadata,
        correlation: str | None,
    ) -> None:
        # The server counts deliveries only: every one is an attempt, and a wait too.
        attempt = int(delivery.num_delivered or 1)
        verdict = after_failure(error, attempt=attempt, waits=attempt, settings=self.settings)
        if not isinstance(verdict, DeadLetterNow):
            _log.warning(
                "retry_scheduled", reason=verdict.reason, attempt=attempt, delay=verdict.delay
            )
            if self.metrics is not None:
                self.metrics.retried(self.consumer, waiting=verdict.waiting)
            raise NackMessage(delay=verdict.delay)
        if self.metrics is not None:
            self.metrics.dead_lettered(self.consumer)
        await send_to_dlq(
            jetstream(self.broker_ref[0]),
            msg.raw_message,
            consumer=self.consumer,
            reason=verdict.reason,
            attempts=attempt,
            correlation_id=correlation,
        )
        raise AckMessage()


async def _lenient_json(msg: StreamMessage[Any]) -> Any:
    """JSON bodies decoded by msgspec; anything else stays bytes. FastStream's own decoder raises
    before the middlewares run (the message would then be nak-ed at once, forever); this way a
    typed handler's argument check fails inside the retry middleware, which dead-letters it."""
    try:
        return msgspec.json.decode(msg.body)
    except msgspec.DecodeError:
        return msg.body


class _Broker(NatsBroker):
    """FastStream's broker, stopping cleanly also while NATS is gone."""

    async def stop(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().stop(*args, **kwargs)
        except (ConnectionReconnectingError, ConnectionClosedError) as exc:
            # Nothing can be drained without a server. Close the client, or its reconnect loop
            # outlives the service (and a test's event loop, which then never closes).
            _log.warning("broker_stopped_without_nats", reason=type(exc).__name__)
            await close_client(nats_client(self))


async def close_client(client: Client) -> None:
    """Close a nats-py client, also one that is reconnecting. On Python 3.11 a cancel that lands
    as the reconnect loop's connect attempt fails is swallowed by ``asyncio.wait_for`` and the
    loop goes on for ever (upstream: nats-io/nats.py#981): cancel it until it has stopped."""
    if not client.is_closed:
        await client.close()
    reconnecting: asyncio.Task[None] | None = getattr(client, "_reconnection_task", None)
    for _ in range(100):
        if reconnecting is None or reconnecting.done():
            return
        reconnecting.cancel()
        await asyncio.wait([reconnecting], timeout=0.05)
    _log.warning("nats_reconnect_loop_survived_close")


def make_broker(
    nats: NatsSettings | str,
    *,
    consumer: str,
    retry: RetrySettings,
    middlewares: tuple[Any, ...] = (),
    delivery: DeliveryMetrics | None = None,
) -> NatsBroker:
    """A broker with msgspec decoding (handlers take msgspec Structs), explicit ack policy and the
    retry/DLQ middleware, logged in to NATS as ``nats`` says (user/password, token, creds or
    nkey seed, TLS; a bare URL: as its user info says). It reconnects for ever
    (``max_reconnect_attempts=-1``): a NATS outage never ends the service. ``delivery`` counts
    the retries and dead letters of the broker's JetStream subscribers."""
    settings = nats if isinstance(nats, NatsSettings) else NatsSettings(url=nats)
    broker_ref: list[NatsBroker] = []

    def middleware(msg: Any, /, *, context: Any) -> BaseMiddleware:
        return _RetryMiddleware(
            msg,
            context=context,
            settings=retry,
            consumer=consumer,
            broker_ref=broker_ref,
            metrics=delivery,
        )

    broker = _Broker(
        # Without user info: the login goes in ``security``, never in a URL that may be logged.
        servers(settings),
        security=broker_security(settings),
        serializer=MsgSpecSerializer(),
        decoder=_lenient_json,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        middlewares=(*middlewares, middleware),
        graceful_timeout=15.0,
        max_reconnect_attempts=-1,
        # FastStream's per-message access lines go through structlog (JSON, correlation id),
        # at debug level: our handlers log the decisions that matter.
        logger=get_logger("faststream"),
        log_level=logging.DEBUG,
    )
    broker_ref.append(broker)
    return broker
