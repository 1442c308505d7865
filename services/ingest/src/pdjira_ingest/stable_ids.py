"""Stable ids of vendor changes (pure): the ``Nats-Msg-Id`` (and event id) of a change is the
same whether its webhook or the reconciliation poller reports it, so JetStream keeps one.

- Jira: ``jira:<instance>:<issue id>:created`` | ``:h<changelog id>`` | ``:c<comment id>``;
- PagerDuty: ``pd:<account>:<incident>:n<note id>`` for a note, and for a status change
  ``pd:<account>:<incident>:<event type>:<time to the second>``: a webhook's ``occurred_at``
  is the time of its log entry's ``created_at`` (PagerDuty's REST times carry seconds, the
  webhook's milliseconds), and no other id links the two.

Every id is bounded (:func:`bounded`): a vendor's id may be anything, a key must not be.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Final

__all__ = [
    "MAX_ID",
    "PD_STATUS_EVENTS",
    "REPAIR_PREFIX",
    "bounded",
    "instant",
    "jira_comment_id",
    "jira_created_id",
    "jira_history_id",
    "pd_note_id",
    "pd_status_id",
    "repair_id",
    "to_the_second",
]

MAX_ID: Final = 200
REPAIR_PREFIX: Final = "recon:"
# Status events: their id pairs a webhook with its log entry by incident, type and time.
PD_STATUS_EVENTS: Final = frozenset(
    {
        "incident.triggered",
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.resolved",
        "incident.reopened",
    }
)


def bounded(msg_id: str) -> str:
    """``msg_id`` itself up to :data:`MAX_ID` characters; longer, a readable head and the
    sha256 of the whole (still unique, never long)."""
    if len(msg_id) <= MAX_ID:
        return msg_id
    digest = hashlib.sha256(msg_id.encode()).hexdigest()
    return f"{msg_id[: MAX_ID - len(digest) - 1]}#{digest}"


def instant(text: str) -> datetime | None:
    """An ISO 8601 time of either vendor (``Z``, ``+00:00``, ``+0000``) in UTC; None if not."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_the_second(text: str) -> str | None:
    """``2020-10-02T18:45:22.169Z`` -> ``2020-10-02T18:45:22Z`` (UTC, fraction dropped)."""
    value = instant(text)
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def pd_status_id(account: str, incident_id: str, event_type: str, occurred_at: str) -> str | None:
    """None when ``occurred_at`` is no time: the caller keeps the webhook's own id then."""
    second = to_the_second(occurred_at)
    if second is None:
        return None
    return bounded(f"pd:{account}:{incident_id}:{event_type}:{second}")


def pd_note_id(account: str, incident_id: str, note_id: str) -> str:
    return bounded(f"pd:{account}:{incident_id}:n{note_id}")


def jira_created_id(instance: str, issue_id: str) -> str:
    return bounded(f"jira:{instance}:{issue_id}:created")


def jira_history_id(instance: str, issue_id: str, history_id: str) -> str:
    return bounded(f"jira:{instance}:{issue_id}:h{history_id}")


def jira_comment_id(instance: str, issue_id: str, comment_id: str) -> str:
    return bounded(f"jira:{instance}:{issue_id}:c{comment_id}")


def repair_id(msg_id: str) -> str:
    """The id of a change published once more by the poller's repair (its own dedup key)."""
    return bounded(REPAIR_PREFIX + msg_id)
