"""Pure rules of the link registry: KV keys and what to do when a key already holds a link."""

from __future__ import annotations

import enum

from pdjira_common.contracts import IncidentRef, Link
from pdjira_common.subjects import token

__all__ = [
    "INCIDENT_KEYS",
    "Verdict",
    "comment_key",
    "incident_key",
    "issue_key",
    "issue_key_index",
    "judge",
    "note_key",
    "same_link",
    "state_key",
]

INCIDENT_KEYS = "pd.>"  # one key per link


class Verdict(enum.Enum):
    """What recording a link did."""

    CREATED = "created"  # the key was empty and now holds the link
    ALREADY = "already"  # the key held this same link (a redelivery or a replica's race)
    CONFLICT = "conflict"  # the key holds a different link; the first one is kept


def incident_key(incident: IncidentRef) -> str:
    """KV key of an incident's link: ``pd.<account>.<incident_id>``."""
    return f"pd.{token(incident.account)}.{token(incident.incident_id)}"


def issue_key(instance: str, issue_id: str) -> str:
    """KV key of an issue's link: ``jira.<instance>.<issue_id>`` (the id, since keys can change)."""
    return f"jira.{token(instance)}.{token(issue_id)}"


def issue_key_index(instance: str, key: str) -> str:
    """KV key of the lookup by issue key (admin and CLI): ``jirakey.<instance>.<KEY>``."""
    return f"jirakey.{token(instance)}.{token(key)}"


def note_key(incident: IncidentRef, note_id: str) -> str:
    """Pairs bucket: the comment that mirrors note ``note_id`` (or the note it mirrors)."""
    return f"note.{token(incident.account)}.{token(incident.incident_id)}.{token(note_id)}"


def comment_key(incident: IncidentRef, comment_id: str) -> str:
    """Pairs bucket: the note of comment ``comment_id`` of the incident's issue."""
    return f"comment.{token(incident.account)}.{token(incident.incident_id)}.{token(comment_id)}"


def state_key(incident: IncidentRef) -> str:
    """Pairs bucket: the last state we wrote on each side of the incident's link."""
    return f"written.{token(incident.account)}.{token(incident.incident_id)}"


def same_link(a: Link, b: Link) -> bool:
    """Same incident and same issue; ``created_at`` and the (mutable) issue key do not count."""
    return (
        a.incident == b.incident
        and a.issue.instance == b.issue.instance
        and a.issue.issue_id == b.issue.issue_id
    )


def judge(existing: Link | None, wanted: Link) -> Verdict:
    """The outcome of creating ``wanted`` under a key that holds ``existing`` (None: empty)."""
    if existing is None:
        return Verdict.CREATED
    return Verdict.ALREADY if same_link(existing, wanted) else Verdict.CONFLICT
