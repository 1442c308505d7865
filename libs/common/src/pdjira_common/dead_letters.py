"""Dead letters: the one way a message that will not be handled is kept, with the reason, in
the DLQ stream (``pdjira dlq list`` shows them, ``pdjira dlq replay`` sends them back).

Every consumer style builds and publishes its letters here, from the nats-py message it was
delivered: its stream, subject, data and headers travel in the letter unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from pdjira_common import streams, subjects
from pdjira_common.contracts import DeadLetter, encode
from pdjira_common.headers import CORRELATION_HEADER, MSG_ID_HEADER
from pdjira_common.logging import get_logger

__all__ = ["dead_letter", "send_to_dlq"]

_log = get_logger(__name__)


def dead_letter(
    msg: Msg,
    *,
    consumer: str,
    reason: str,
    attempts: int,
    correlation_id: str | None = None,
    now: datetime | None = None,
) -> DeadLetter:
    """The letter for ``msg`` (a JetStream delivery); the correlation id defaults to its header."""
    headers = {key: str(value) for key, value in (msg.headers or {}).items()}
    return DeadLetter(
        stream=str(msg.metadata.stream or "unknown"),
        consumer=consumer,
        subject=msg.subject,
        reason=reason,
        attempts=attempts,
        correlation_id=correlation_id or headers.get(CORRELATION_HEADER),
        failed_at=(now or datetime.now(UTC)).isoformat(),
        data=bytes(msg.data),
        headers=headers,
    )


async def send_to_dlq(
    js: JetStreamContext,
    msg: Msg,
    *,
    consumer: str,
    reason: str,
    attempts: int,
    correlation_id: str | None = None,
) -> DeadLetter:
    """Publish ``msg``'s letter to ``dlq.<stream>.<consumer>`` and wait for the PubAck.

    The message id is the original's stream position: a letter sent again (the service died
    before its ack) is dropped by JetStream. The caller acks ``msg`` afterwards."""
    letter = dead_letter(
        msg, consumer=consumer, reason=reason, attempts=attempts, correlation_id=correlation_id
    )
    await js.publish(
        subjects.dlq(letter.stream, consumer),
        encode(letter),
        stream=streams.DLQ,
        headers={
            MSG_ID_HEADER: f"dlq:{letter.stream}:{consumer}:{msg.metadata.sequence.stream}",
            CORRELATION_HEADER: letter.correlation_id or "",
        },
    )
    _log.error("dead_lettered", reason=reason, attempts=attempts, subject=msg.subject)
    return letter
