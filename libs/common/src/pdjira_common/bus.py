"""NATS wiring shared by the services: broker factory, JetStream publish, retry policy.

Retries are always *delayed* naks (a plain nak redelivers at once and burns ``max_deliver`` in
milliseconds) and bounded; a message that runs out of attempts is copied to the DLQ stream with
the reason, then acked. Nothing is ever ``term``-ed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
from fast_depends.exceptions import ValidationError as ArgumentError
from fast_depends.msgspec import MsgSpecSerializer
from faststream import AckPolicy, BaseMiddleware, SourceType
from faststream.exceptions import AckMessage, HandlerException, NackMessage
from faststream.message import StreamMessage
from faststream.nats import NatsBroker, PubAck
from nats.aio.client import Client
from nats.js import JetStreamContext

from pdjira_common import streams, subjects
from pdjira_common.config import RetrySettings
from pdjira_common.contracts import DeadLetter, encode
from pdjira_common.logging import bind_correlation_id, get_logger
from pdjira_common.secrets import redact

__all__ = [
    "CORRELATION_HEADER",
    "MSG_ID_HEADER",
    "Retryable",
    "Unprocessable",
    "WaitForPrerequisite",
    "jetstream",
    "make_broker",
    "nats_client",
    "publish",
    "retry_delay",
]

MSG_ID_HEADER = "Nats-Msg-Id"
CORRELATION_HEADER = "Pdjira-Correlation-Id"
_log = get_logger(__name__)


class Retryable(Exception):
    """A transient failure (timeout, 5xx, 429): retry later (after ``delay`` if the server said)."""

    def __init__(self, reason: str, *, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class WaitForPrerequisite(Exception):
    """The command cannot run yet (e.g. the issue it needs is not created): wait, do not fail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unprocessable(Exception):
    """The message can never be handled (e.g. it does not decode): dead-letter it at once.

    Retrying cannot help, and on an ordered consumer every retry holds up the messages behind it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def nats_client(broker: NatsBroker) -> Client:
    """The connected broker's nats-py client (FastStream's public ``connection``): the one place
    services reach below FastStream, for KV watches, core request/reply and pull consumers."""
    client: Client = broker.connection
    return client


def jetstream(broker: NatsBroker) -> JetStreamContext:
    """A JetStream context on the connected broker's nats-py client."""
    return nats_client(broker).jetstream()


def retry_delay(attempt: int, settings: RetrySettings, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter on the upper half: base * 2^(attempt-1), capped."""
    rng = rng or random.Random()
    ceiling = min(settings.max_delay, settings.base_delay * (2.0 ** max(attempt - 1, 0)))
    return ceiling / 2 + rng.random() * ceiling / 2


async def publish(
    broker: NatsBroker,
    message: msgspec.Struct,
    subject: str,
    *,
    stream: str,
    msg_id: str,
    correlation_id: str,
    timeout: float = 5.0,
) -> PubAck:
    """Publish to JetStream and wait for the PubAck; ``msg_id`` dedupes retries of the same fact."""
    ack: PubAck = await broker.publish(
        encode(message),
        subject,
        stream=stream,
        headers={
            MSG_ID_HEADER: msg_id,
            CORRELATION_HEADER: correlation_id,
            "content-type": "application/json",
        },
        correlation_id=correlation_id,
        timeout=timeout,
    )
    return ack


class _RetryMiddleware(BaseMiddleware):
    """Turns handler failures into delayed naks; after the last attempt, a dead letter."""

    def __init__(
        self,
        msg: Any,
        /,
        *,
        context: Any,
        settings: RetrySettings,
        consumer: str,
        broker_ref: list[NatsBroker],
    ) -> None:
        super().__init__(msg, context=context)
        self.settings = settings
        self.consumer = consumer
        self.broker_ref = broker_ref

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
        try:
            return await call_next(msg)
        except HandlerException:
            raise
        except WaitForPrerequisite as exc:
            await self._retry_or_dead_letter(
                msg, exc.reason, self.settings.prerequisite_max_attempts, delay=1.0
            )
        except Unprocessable as exc:
            await self._retry_or_dead_letter(msg, exc.reason, 1, delay=None)
        except (ArgumentError, msgspec.ValidationError, msgspec.DecodeError) as exc:
            # The body is not what the typed handler takes: retrying cannot help.
            cause = getattr(exc, "original_error", None) or exc
            reason = redact(f"the message does not decode as the handler's type: {cause}")
            await self._retry_or_dead_letter(msg, reason, 1, delay=None)
        except Retryable as exc:
            await self._retry_or_dead_letter(
                msg, exc.reason, self.settings.max_attempts, delay=exc.delay
            )
        except Exception as exc:
            reason = redact(f"{type(exc).__name__}: {exc}")
            _log.exception("handler_failed", reason=reason)
            await self._retry_or_dead_letter(msg, reason, self.settings.max_attempts, delay=None)
        return None

    async def _retry_or_dead_letter(
        self, msg: StreamMessage[Any], reason: str, max_attempts: int, *, delay: float | None
    ) -> None:
        raw = msg.raw_message
        metadata = getattr(raw, "metadata", None)
        attempt = int(getattr(metadata, "num_delivered", 1) or 1)
        if attempt < max_attempts:
            wait = delay if delay is not None else retry_delay(attempt, self.settings)
            _log.warning("retry_scheduled", reason=reason, attempt=attempt, delay=round(wait, 3))
            raise NackMessage(delay=wait)
        stream_name = str(getattr(metadata, "stream", "") or "unknown")
        stream_seq = getattr(getattr(metadata, "sequence", None), "stream", None)
        letter = DeadLetter(
            stream=stream_name,
            consumer=self.consumer,
            subject=str(getattr(raw, "subject", "")),
            reason=reason,
            attempts=attempt,
            correlation_id=msg.correlation_id,
            failed_at=datetime.now(UTC).isoformat(),
            data=bytes(msg.body),
            headers={k: str(v) for k, v in (msg.headers or {}).items()},
        )
        await publish(
            self.broker_ref[0],
            letter,
            subjects.dlq(letter.stream, self.consumer),
            stream=streams.DLQ,
            msg_id=f"dlq:{stream_name}:{self.consumer}:{stream_seq}",
            correlation_id=letter.correlation_id or "",
        )
        _log.error("dead_lettered", reason=reason, attempts=attempt)
        raise AckMessage()


async def _lenient_json(msg: StreamMessage[Any]) -> Any:
    """JSON bodies decoded by msgspec; anything else stays bytes. FastStream's own decoder raises
    before the middlewares run (the message would then be nak-ed at once, forever); this way a
    typed handler's argument check fails inside the retry middleware, which dead-letters it."""
    try:
        return msgspec.json.decode(msg.body)
    except msgspec.DecodeError:
        return msg.body


def make_broker(
    url: str, *, consumer: str, retry: RetrySettings, middlewares: tuple[Any, ...] = ()
) -> NatsBroker:
    """A broker with msgspec decoding (handlers take msgspec Structs), explicit ack policy and the
    retry/DLQ middleware."""
    broker_ref: list[NatsBroker] = []

    def middleware(msg: Any, /, *, context: Any) -> BaseMiddleware:
        return _RetryMiddleware(
            msg, context=context, settings=retry, consumer=consumer, broker_ref=broker_ref
        )

    broker = NatsBroker(
        url,
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
