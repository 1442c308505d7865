"""What a PagerDuty incident event says, read defensively from the normalized event and its
raw webhook ``data``: the rule events it is, its service, priority and assignees."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pdjira_common.contracts import IncidentEvent

from pdjira_rules.engine.refs import obj, text

__all__ = [
    "PRIORITY_UPDATED",
    "RULE_EVENTS",
    "TRIGGERED",
    "Named",
    "assignee_ids",
    "data_of",
    "priority_of",
    "rule_events",
    "service_of",
]

TRIGGERED: Final = "incident.triggered"
PRIORITY_UPDATED: Final = "incident.priority_updated"
MANUAL: Final = "incident.trigger_manually"
# PagerDuty webhook v3 event type -> the rule's pd_events name.
RULE_EVENTS: Final = {
    TRIGGERED: "incident.trigger",
    "incident.acknowledged": "incident.acknowledge",
    "incident.unacknowledged": "incident.unacknowledge",
    "incident.resolved": "incident.resolve",
    "incident.escalated": "incident.escalate",
    "incident.reassigned": "incident.assign",
    "incident.delegated": "incident.delegate",
}
Named = tuple[str | None, str | None]  # (id, name)


def data_of(event: IncidentEvent) -> Mapping[str, object]:
    return event.data if isinstance(event.data, Mapping) else {}


def rule_events(event: IncidentEvent) -> tuple[str, ...]:
    """The rule events this webhook is: a trigger by a person is also trigger_manually."""
    mapped = RULE_EVENTS.get(event.event_type)
    if mapped is None:
        return ()
    if event.event_type == TRIGGERED and event.agent_type == "user_reference":
        return (mapped, MANUAL)
    return (mapped,)


def service_of(event: IncidentEvent) -> Named:
    service = obj(data_of(event), "service")
    return (
        event.service_id or text(service, "id"),
        event.service_name or text(service, "summary") or text(service, "name"),
    )


def priority_of(event: IncidentEvent) -> Named:
    priority = obj(data_of(event), "priority")
    return (
        text(priority, "id"),
        event.priority or text(priority, "summary") or text(priority, "name"),
    )


def assignee_ids(event: IncidentEvent) -> tuple[str, ...]:
    """User ids of ``data.assignees`` (webhook shape) or ``data.assignments`` (REST shape)."""
    data = data_of(event)
    raw = data.get("assignees")
    people: list[object] = list(raw) if isinstance(raw, list) else []
    assignments = data.get("assignments")
    if not people and isinstance(assignments, list):
        people = [obj(a, "assignee") for a in assignments]
    ids = (text(p, "id") for p in people)
    return tuple(dict.fromkeys(i for i in ids if i))
