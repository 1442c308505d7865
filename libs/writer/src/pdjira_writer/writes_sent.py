"""Whether an attempt at a command sent any write to the vendor: an attempt that failed before
sending one (our own rate limit postponed it, a read failed) left nothing to look for, so its
retry applies the command directly instead of first searching the vendor for its write (under
a tight rate limit, that search was a second call for every postponed create)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["WriteCount", "counting_writes", "note_request"]

_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class WriteCount:
    def __init__(self) -> None:
        self.sent = 0


_current: ContextVar[WriteCount | None] = ContextVar("pdjira_writes_sent", default=None)


@contextmanager
def counting_writes() -> Iterator[WriteCount]:
    """Count the write requests sent inside (this task and the tasks it starts)."""
    count = WriteCount()
    token = _current.set(count)
    try:
        yield count
    finally:
        _current.reset(token)


def note_request(method: str) -> None:
    """A request is about to be sent: counted if it may change something at the vendor."""
    count = _current.get()
    if count is not None and method.upper() not in _READS:
        count.sent += 1
