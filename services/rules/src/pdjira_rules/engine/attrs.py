"""Template attributes from an incident event: the webhook's ``data`` adapted to the REST
incident shape PagerDuty's placeholders name (``incident.incident_number``,
``incident.assignments``, ``incident.acknowledgements``...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pdjira_common.contracts import IncidentEvent

from pdjira_rules.engine.incident_facts import data_of, priority_of, service_of
from pdjira_rules.engine.refs import obj

__all__ = ["incident_attrs"]

_ACKNOWLEDGED = "incident.acknowledged"


def incident_attrs(event: IncidentEvent) -> dict[str, Any]:
    """``{"incident": {...}}`` for :func:`pdjira_rules.templates.render`.

    Webhook ``number`` becomes ``incident_number``, ``assignees`` become ``assignments``, the
    service is the one impacted service, the title is the description (PagerDuty's default);
    the event's time and agent are the last status change, and the agent of an acknowledged
    event is its acknowledger. What the raw data lacks comes from the normalized event.
    """
    data = data_of(event)
    incident: dict[str, Any] = dict(data)
    title = data.get("title") if isinstance(data.get("title"), str) else event.title
    incident["id"] = data.get("id") or event.incident_id
    incident["title"] = title
    incident["incident_number"] = data.get("incident_number", data.get("number", event.number))
    if not isinstance(data.get("description"), str):
        incident["description"] = title
    incident["status"] = data.get("status") or event.status
    incident["urgency"] = data.get("urgency") or event.urgency
    incident["html_url"] = data.get("html_url") or event.html_url
    incident["created_at"] = data.get("created_at")

    service_id, service_name = service_of(event)
    service: Mapping[str, object] = obj(data, "service") or _ref(service_id, service_name)
    incident["service"] = dict(service) if service else None
    if not isinstance(data.get("impacted_services"), list):
        incident["impacted_services"] = [dict(service)] if service else []

    priority_id, priority_name = priority_of(event)
    priority = obj(data, "priority") or _ref(priority_id, priority_name)
    incident["priority"] = dict(priority) if priority else None
    incident["escalation_policy"] = dict(obj(data, "escalation_policy")) or None

    assignees = data.get("assignees")
    if isinstance(assignees, list):
        incident["assignments"] = [{"assignee": a} for a in assignees]
    elif not isinstance(data.get("assignments"), list):
        incident["assignments"] = []

    agent = {"summary": event.agent_summary} if event.agent_summary else None
    incident["last_status_change_at"] = event.occurred_at or data.get("last_status_change_at")
    incident["last_status_change_by"] = agent or data.get("last_status_change_by")
    if event.event_type == _ACKNOWLEDGED and agent is not None:
        incident["acknowledgements"] = [{"acknowledger": agent}]
    elif not isinstance(data.get("acknowledgements"), list):
        incident["acknowledgements"] = []
    return {"incident": incident}


def _ref(ref_id: str | None, name: str | None) -> dict[str, str]:
    ref = {"id": ref_id, "summary": name}
    return {k: v for k, v in ref.items() if v}
