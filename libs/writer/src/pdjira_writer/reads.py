"""Reads a writer answers for the other services (core NATS request/reply), through the same
clients, and so the same rate limit, as its writes.

A responder is a typed function, ``async def answer(request: SomeRead) -> SomeReply``: FastStream
decodes the request for it (msgspec). Whoever asks always gets an answer: a request that is not
a ``SomeRead``, an unknown target, the vendor's refusal or any failure is a ``SomeReply`` with
``error`` set, never a silent timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import wraps
from typing import Any, TypeVar, get_type_hints

import msgspec
from faststream.nats import NatsBroker, NatsMessage
from pdjira_common.contracts import encode
from pdjira_common.logging import get_logger
from pdjira_common.retry import Retryable, reason_of

from pdjira_writer.errors import Refused, unknown_target
from pdjira_writer.spec import WriterSpec

__all__ = ["Answer", "answer_read", "read_from", "serve_read"]

C = TypeVar("C")
R = TypeVar("R")
Reply = TypeVar("Reply", bound=msgspec.Struct)
Answer = Callable[[Any], Awaitable[Reply]]
_log = get_logger(__name__)


def serve_read(broker: NatsBroker, subject: str, answer: Answer[Reply], *, queue: str) -> None:
    """Answer requests on ``subject`` with ``answer`` (replicas share them in ``queue``); its
    reply type, with ``error`` set, answers what ``answer`` cannot."""
    hints = get_type_hints(answer)
    reply: Callable[..., Reply] = hints["return"]
    request_type: type[Any] = next(v for k, v in hints.items() if k != "return")
    decoder = msgspec.json.Decoder(request_type)
    what = subject.rsplit(".", 1)[-1]

    def not_a_request(body: bytes) -> str | None:
        try:
            decoder.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return f"not a {request_type.__name__}: {exc}"
        return None

    def refused(error: str) -> Reply:
        _log.warning("read_refused", what=what, reason=error)
        return reply(error=error)

    # FastStream decodes the body as ``answer`` declares it (it reads the signature through
    # ``wraps``); the filter sends every other body to the refusal below.
    @wraps(answer)
    async def guarded(*args: Any, **kwargs: Any) -> Reply:
        try:
            return await answer(*args, **kwargs)
        except Exception as exc:  # an answer, not a timeout, whatever went wrong
            _log.exception("read_failed", what=what, reason=reason_of(exc))
            return reply(error=reason_of(exc))

    subscriber = broker.subscriber(subject, queue=queue)
    subscriber(guarded, filter=lambda message: not_a_request(message.body) is None)

    @subscriber
    async def refuse(message: NatsMessage) -> bytes:
        return encode(refused(not_a_request(message.body) or f"not a {request_type.__name__}"))


async def read_from(
    clients: Mapping[str, C],
    target: str,
    spec: WriterSpec,
    what: str,
    call: Callable[[C], Awaitable[R]],
) -> R | str:
    """``call``'s answer from the target's client, or why there is none (an unknown target,
    the vendor's refusal, a failure worth retrying: the asker decides when to ask again)."""
    client = clients.get(target)
    if client is None:
        label = spec.vendor.label(target)
        return f"{unknown_target(label, sorted(clients))}; ask for one of them"
    try:
        return await call(client)
    except (Refused, Retryable) as exc:
        _log.warning("read_failed", what=what, reason=exc.reason)
        return exc.reason


async def answer_read(
    clients: Mapping[str, C],
    target: str,
    spec: WriterSpec,
    what: str,
    call: Callable[[C], Awaitable[Reply]],
    failed: Callable[..., Reply],
) -> Reply:
    """The reply ``call`` makes with the target's client, or ``failed(error=why)`` when there
    is none (see ``read_from``): how a writer answers a read."""
    result = await read_from(clients, target, spec, what, call)
    return failed(error=result) if isinstance(result, str) else result
