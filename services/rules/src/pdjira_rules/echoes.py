"""Which changes of an event could be the echo of our own write (pure), as mapping requests.

Entities are ``pd:<account>:<incident_id>`` and ``jira:<instance>:<issue_id>``; values are the
new status name, or :func:`~pdjira_common.requests.body_digest` of a note or comment body —
the same the writers record in their marks before they write.
"""

from __future__ import annotations

from pdjira_common.contracts import Event, IncidentEvent, Link
from pdjira_common.requests import EchoConsume, PairLookup, body_digest

from pdjira_rules.engine.incident_facts import (
    ACKNOWLEDGED,
    PRIORITY_UPDATED,
    REOPENED,  # pd-writer reopens for the pd_reopen action
    RESOLVED,
    priority_of,
)
from pdjira_rules.engine.issue_facts import jira_priority

__all__ = ["echo_probes", "entity_of", "pair_probe"]


def entity_of(event: Event) -> str:
    if isinstance(event, IncidentEvent):
        return f"pd:{event.account}:{event.incident_id}"
    return f"jira:{event.instance}:{event.issue_id}"


def echo_probes(event: Event, link: Link | None) -> tuple[EchoConsume, ...]:
    """The marks to consume for ``event``: none for an unlinked entity (we never write those)."""
    if link is None:
        return ()
    probes: list[tuple[str, str]] = []
    if isinstance(event, IncidentEvent):
        if event.event_type in (ACKNOWLEDGED, RESOLVED, REOPENED) and event.status is not None:
            probes.append(("status", event.status))
        if event.is_note and event.note is not None:
            probes.append(("note", body_digest(event.note.content)))
        _, priority = priority_of(event)
        if event.event_type == PRIORITY_UPDATED and priority:
            probes.append(("priority", priority))
        system = "pd"
    else:
        change = event.changed("status")
        if change is not None:
            probes.append(("status", change.to_string or event.status))
        if event.is_comment and event.comment is not None:
            probes.append(("comment", body_digest(event.comment.body)))
        priority_change = event.changed("priority")
        new_priority = (priority_change and priority_change.to_string) or jira_priority(event)
        if priority_change is not None and new_priority:
            probes.append(("priority", new_priority))
        system = "jira"
    return tuple(
        EchoConsume(
            system="pd" if system == "pd" else "jira",
            entity=entity_of(event),
            field=field,
            value=value,
            event_id=event.event_id,
        )
        for field, value in probes
    )


def pair_probe(event: Event, link: Link | None) -> PairLookup | None:
    """Has the event's note (comment) been synced already? Asked for linked notes/comments."""
    if link is None:
        return None
    if isinstance(event, IncidentEvent):
        if event.is_note and event.note is not None:
            return PairLookup(incident=link.incident, note_id=event.note.id)
        return None
    if event.is_comment and event.comment is not None:
        return PairLookup(incident=link.incident, comment_id=event.comment.id)
    return None
