"""Metric label values that stay bounded whatever the traffic: a Prometheus series per distinct
label value lives as long as the process, so an id, a full subject or a free-text reason as a
label grows ``/metrics`` (and memory) with every event."""

from __future__ import annotations

import re
import threading

__all__ = ["OTHER", "BoundedLabel", "subject_pattern"]

OTHER = "other"

# How many leading tokens of a subject are bounded (the rest are ids): events.pd.<account>,
# commands.jira.<instance>, outcomes.<system>.<target>, dlq.<stream>.<consumer>,
# reads.pd.<account>.<what>, mapping.<what>.<verb>; audit.<correlation id> keeps one.
_BOUNDED_TOKENS = {
    "events": 3,
    "commands": 3,
    "outcomes": 3,
    "dlq": 3,
    "reads": 4,
    "mapping": 3,
    "audit": 1,
    "$JS": 2,
    "$KV": 2,
}
_SAFE = re.compile(r"^[A-Za-z0-9_:.\-]{1,64}$")


def subject_pattern(subject: str) -> str:
    """A NATS subject as a bounded label: its id tokens folded into ``>``, e.g.
    ``commands.jira.dc1.INC-123`` -> ``commands.jira.dc1.>``, ``_INBOX.x.y`` -> ``_INBOX.>``."""
    tokens = subject.split(".")
    keep = _BOUNDED_TOKENS.get(tokens[0], 1)
    if len(tokens) <= keep:
        return subject
    return ".".join(tokens[:keep]) + ".>"


class BoundedLabel:
    """A label whose values come from outside (event types, rule names): the first ``limit``
    distinct well-formed values are kept as they are, any later one is counted as ``other``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if not _SAFE.match(value):
            return OTHER
        with self._lock:
            if len(self._seen) >= self._limit:
                return OTHER
            self._seen.add(value)
        return value
