"""The vendor calls of one attempt at a command, for its audit record (``audit_trail``).

A context variable holds the attempt's list: :class:`VendorHttp` notes every request it sends
(method, path without the query, status, latency) while one is set, which only the command
handler does. Reads a writer answers for other services run outside it and are not recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from pdjira_common.contracts import VendorCall

__all__ = ["CallLog", "note_call", "recording_calls"]

MAX_CALLS = 50  # calls kept per attempt: a record stays small whatever a command does


class CallLog:
    def __init__(self) -> None:
        self.calls: list[VendorCall] = []
        self.dropped = 0


_current: ContextVar[CallLog | None] = ContextVar("pdjira_vendor_calls", default=None)


@contextmanager
def recording_calls() -> Iterator[CallLog]:
    """Collect the vendor calls sent inside (this task and the tasks it starts)."""
    log = CallLog()
    token = _current.set(log)
    try:
        yield log
    finally:
        _current.reset(token)


def note_call(
    method: str,
    path: str,
    *,
    status: int | None,
    started: float,
    latency: float,
    error: str | None = None,
) -> None:
    """A request got its answer (``status``) or none (``error``); ``started``: epoch seconds,
    ``latency``: seconds. Nothing happens unless a command's attempt is being recorded."""
    log = _current.get()
    if log is None:
        return
    if len(log.calls) >= MAX_CALLS:
        log.dropped += 1
        return
    log.calls.append(
        VendorCall(
            method=method.upper(),
            path=path.split("?", 1)[0],  # ids yes, query (JQL, tokens) never
            status=status,
            latency_ms=round(latency * 1000.0, 1),
            at=datetime.fromtimestamp(started, UTC).isoformat(),
            error=error,
        )
    )
