"""Echo marks (pure): adding a mark, consuming one, and the KV key of a mark."""

from __future__ import annotations

import hashlib

from pdjira_common.subjects import token

from pdjira_mapping.models import Mark, Marks

__all__ = ["add_mark", "consume_mark", "echo_key"]


def echo_key(system: str, entity: str, field: str, value: str) -> str:
    """``echo.<system>.<entity>.<field>.<digest of value>`` (values can be any text)."""
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"echo.{token(system)}.{token(entity)}.{token(field)}.{digest}"


def _live(marks: Marks | None, now: float) -> tuple[Mark, ...]:
    return tuple(m for m in (marks.marks if marks else ()) if m.expires_at > now)


def add_mark(marks: Marks | None, *, now: float, ttl: float) -> Marks:
    """One more mark expiring at ``now + ttl``; expired ones are dropped on the way."""
    return Marks(marks=(*_live(marks, now), Mark(expires_at=now + ttl)))


def consume_mark(
    marks: Marks | None, *, now: float, event_id: str | None
) -> tuple[Marks | None, bool]:
    """(marks after, matched). The oldest live unconsumed mark is consumed; an event that
    already consumed one (redelivery) matches again. None after: nothing left to keep."""
    live = _live(marks, now)
    if event_id is not None and any(m.consumed_by == event_id for m in live):
        return Marks(marks=live), True
    for i, mark in enumerate(live):
        if mark.consumed_by is None:
            rest = live[:i] + live[i + 1 :]
            if event_id is not None:
                consumed = Mark(expires_at=mark.expires_at, consumed_by=event_id)
                rest = (*live[:i], consumed, *live[i + 1 :])
            return (Marks(marks=rest) if rest else None), True
    return (Marks(marks=live) if live else None), False
