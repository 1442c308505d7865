"""What a PagerDuty incident event says: the rule events it is, its service, priority and
assignees (read from the event's typed facts; a note event has none)."""

from __future__ import annotations

from typing import Final

from pdjira_common.contracts import IncidentEvent

__all__ = [
    "ACKNOWLEDGED",
    "PRIORITY_UPDATED",
    "REOPENED",
    "RESOLVED",
    "RULE_EVENTS",
    "TRIGGERED",
    "Named",
    "assignee_ids",
    "priority_of",
    "rule_events",
    "service_of",
]

TRIGGERED: Final = "incident.triggered"
ACKNOWLEDGED: Final = "incident.acknowledged"
RESOLVED: Final = "incident.resolved"
REOPENED: Final = "incident.reopened"
PRIORITY_UPDATED: Final = "incident.priority_updated"
MANUAL: Final = "incident.trigger_manually"
# PagerDuty webhook v3 event type -> the rule's pd_events name.
RULE_EVENTS: Final = {
    TRIGGERED: "incident.trigger",
    ACKNOWLEDGED: "incident.acknowledge",
    "incident.unacknowledged": "incident.unacknowledge",
    RESOLVED: "incident.resolve",
    "incident.escalated": "incident.escalate",
    "incident.reassigned": "incident.assign",
    "incident.delegated": "incident.delegate",
}
Named = tuple[str | None, str | None]  # (id, name)


def rule_events(event: IncidentEvent) -> tuple[str, ...]:
    """The rule events this webhook is: a trigger by a person is also trigger_manually."""
    mapped = RULE_EVENTS.get(event.event_type)
    if mapped is None:
        return ()
    agent = event.agent
    if event.event_type == TRIGGERED and agent is not None and agent.type == "user_reference":
        return (mapped, MANUAL)
    return (mapped,)


def service_of(event: IncidentEvent) -> Named:
    service = event.facts.service if event.facts is not None else None
    return (service.id, service.summary) if service is not None else (None, None)


def priority_of(event: IncidentEvent) -> Named:
    priority = event.facts.priority if event.facts is not None else None
    return (priority.id, priority.summary) if priority is not None else (None, None)


def assignee_ids(event: IncidentEvent) -> tuple[str, ...]:
    assignees = event.facts.assignees if event.facts is not None else ()
    return tuple(dict.fromkeys(a.id for a in assignees if a.id))
