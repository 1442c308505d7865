"""Template attributes from an incident event: its typed facts in the REST incident shape
PagerDuty's placeholders name (``incident.incident_number``, ``incident.assignments``,
``incident.acknowledgements``...)."""

from __future__ import annotations

from typing import Any

from pdjira_common.contracts import IncidentEvent
from pdjira_common.facts import PdRef

from pdjira_rules.engine.incident_facts import ACKNOWLEDGED

__all__ = ["incident_attrs"]


def incident_attrs(event: IncidentEvent) -> dict[str, Any]:
    """``{"incident": {...}}`` for :func:`pdjira_rules.templates.render`.

    The service is the one impacted service, the description is the title unless the data
    had its own (PagerDuty's default); the event's time and agent are the last status change,
    and the agent of an acknowledged event is its acknowledger.
    """
    facts = event.facts
    agent = {"summary": event.agent.summary} if event.agent and event.agent.summary else None
    service = _ref(facts.service) if facts else None
    incident: dict[str, Any] = {
        "id": event.incident_id,
        "title": event.title,
        "description": (facts.description if facts else None) or event.title,
        "incident_number": facts.number if facts else None,
        "status": event.status,
        "urgency": facts.urgency if facts else None,
        "html_url": event.html_url,
        "created_at": facts.created_at if facts else None,
        "service": service,
        "impacted_services": [service] if service else [],
        "priority": _ref(facts.priority) if facts else None,
        "escalation_policy": _ref(facts.escalation_policy) if facts else None,
        "assignments": [{"assignee": _ref(a)} for a in facts.assignees] if facts else [],
        "last_status_change_at": event.occurred_at or None,
        "last_status_change_by": agent,
        "acknowledgements": (
            [{"acknowledger": agent}] if event.event_type == ACKNOWLEDGED and agent else []
        ),
    }
    return {"incident": incident}


def _ref(ref: PdRef | None) -> dict[str, str] | None:
    if ref is None:
        return None
    found = {"id": ref.id, "summary": ref.summary}
    return {k: v for k, v in found.items() if v} or None
