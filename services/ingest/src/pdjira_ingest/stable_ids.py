"""Stable ids of vendor changes (pure): the ``Nats-Msg-Id`` (and event id) of a change is the
same whether its webhook or the reconciliation poller reports it, so JetStream keeps one.

- Jira: ``jira:<instance>:<issue id>:created`` | ``:h<changelog id>`` | ``:c<comment id>``;
- PagerDuty: ``pd:<account>:<incident>:n<note id>`` for a note. A status change has no id
  its webhook and its log entry share: the webhook's ``occurred_at`` is the entry's
  ``created_at`` only to the second (REST times carry seconds), and two acknowledges can fall
  in one second (pdjira's own, then a person's), so a status webhook keeps its own event id
  and the poller matches log entries with stored webhooks by :func:`status_key` instead; its
  own copies are ``pd:<account>:<incident>:<event type>:<second>[:<n>]``.

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
    "status_key",
    "to_the_second",
]

MAX_ID: Final = 200
REPAIR_PREFIX: Final = "recon:"
# The status events the poller rebuilds from log entries.
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


def status_key(event_type: str, occurred_at: str) -> str | None:
    """What pairs a status webhook with its log entry: type and second."""
    second = to_the_second(occurred_at)
    return None if second is None else f"{event_type}@{second}"


def pd_status_id(
    account: str, incident_id: str, event_type: str, occurred_at: str, nth: int = 0
) -> str | None:
    """The poller's id of the ``nth`` (from 0) status change of this type in that second."""
    second = to_the_second(occurred_at)
    if second is None:
        return None
    suffix = f":{nth}" if nth else ""
    return bounded(f"pd:{account}:{incident_id}:{event_type}:{second}{suffix}")


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
