"""Dead letters: the one way a message that will not be handled is kept, with the reason, in
the DLQ stream (``pdjira dlq list`` shows them, ``pdjira dlq replay`` sends them back).

Every consumer style builds and publishes its letters here, from the nats-py message it was
delivered: its stream, subject, data and headers travel in the letter unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from pdjira_common import streams, subjects
from pdjira_common.contracts import DeadLetter, encode
from pdjira_common.headers import CORRELATION_HEADER, MSG_ID_HEADER, REPLAY_MSG_ID_PREFIX
from pdjira_common.logging import get_logger

__all__ = ["dead_letter", "list_letters", "replay_letters", "send_to_dlq"]

_log = get_logger(__name__)
_decoder = msgspec.json.Decoder(DeadLetter)


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


async def list_letters(js: JetStreamContext) -> list[tuple[int, DeadLetter]]:
    """Every letter in the DLQ stream with its id (stream sequence), oldest first
    (``pdjira dlq list`` and the console's Dead letters page)."""
    info = await js.stream_info(streams.DLQ)
    letters = []
    if info.state.messages == 0:
        return []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        try:
            raw = await js.get_msg(streams.DLQ, seq)
        except NotFoundError:
            continue  # removed (replayed)
        if raw.data:
            letters.append((seq, _decoder.decode(raw.data)))
    return letters


async def replay_letters(js: JetStreamContext, ids: list[int] | None) -> list[str]:
    """Replay the letters ``ids`` (None: all); lines saying what happened to each.

    Each original goes back to its subject with a new ``Nats-Msg-Id`` (so the stream's dedup
    window does not drop it), then its letter is removed."""
    letters = dict(await list_letters(js))
    wanted = sorted(letters) if ids is None else ids
    lines = []
    for seq in wanted:
        letter = letters.get(seq)
        if letter is None:
            lines.append(f"{seq}: no such dead letter (see `pdjira dlq list`)")
            continue
        headers = dict(letter.headers)
        original = headers.get(MSG_ID_HEADER, "")
        headers[MSG_ID_HEADER] = f"{REPLAY_MSG_ID_PREFIX}{streams.DLQ}:{seq}:{original}"
        await js.publish(letter.subject, letter.data, headers=headers)
        await js.delete_msg(streams.DLQ, seq)
        lines.append(f"{seq}: replayed to {letter.subject}")
    return lines
