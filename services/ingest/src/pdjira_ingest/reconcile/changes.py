"""What the poller publishes (pure): one vendor change as an event, with when it happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import msgspec
from pdjira_common.config import ReconcileSettings
from pdjira_common.contracts import IncidentEvent, IssueEvent

from pdjira_ingest.stable_ids import repair_id

__all__ = ["Change", "Kind", "Window", "poll_window", "repaired", "ripe"]

ORIGIN = "reconcile"
Kind = Literal["create", "update", "note", "comment"]


@dataclass(frozen=True, slots=True)
class Change:
    """``event``'s id is the change's stable id (its ``Nats-Msg-Id``)."""

    event: IncidentEvent | IssueEvent
    at: datetime
    kind: Kind
    # A PagerDuty status change: ``type@second`` (stable_ids.status_key), what pairs it with a
    # stored webhook, which has an id of its own.
    webhook_key: str | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """Changes made in [since, until) are looked at."""

    since: datetime
    until: datetime

    def __contains__(self, at: datetime) -> bool:
        return self.since <= at < self.until


def poll_window(watermark: datetime | None, now: datetime, settings: ReconcileSettings) -> Window:
    """From the watermark less ``lookback`` (first start: ``initial_lookback`` ago) to ``settle``
    ago: a younger change may still have its webhook in flight; the next poll sees it."""
    until = now - timedelta(seconds=settings.settle)
    if watermark is None:
        since = now - timedelta(seconds=settings.initial_lookback)
    else:
        since = watermark - timedelta(seconds=settings.lookback)
    # Whole seconds: the vendors' queries take no fractions.
    until = until.replace(microsecond=0)
    return Window(since=min(since, until).replace(microsecond=0), until=until)


def ripe(change: Change, now: datetime, settings: ReconcileSettings) -> bool:
    """Old enough to repair: its own event (webhook or an earlier poll's) had a whole interval
    to be decided, so a missing link or pair is not just in flight."""
    return change.at <= now - timedelta(seconds=settings.settle + settings.interval)


def repaired(event: IncidentEvent | IssueEvent) -> IncidentEvent | IssueEvent:
    """The event once more, under its repair id (published once: JetStream drops repeats)."""
    again = repair_id(event.event_id)
    return msgspec.structs.replace(event, event_id=again, correlation_id=again)
