"""JSON shapes of PagerDuty objects: REST (per the OpenAPI spec) and webhook v3 data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pdjira_simulators.pagerduty.state import (
    Incident,
    IncidentEvent,
    LogEntry,
    Note,
    PagerDutyState,
    Priority,
    Responder,
    ResponderRequest,
    Service,
    StatusUpdate,
    Subscription,
    User,
)

__all__ = [
    "Urls",
    "incident_json",
    "log_entry_json",
    "note_json",
    "priority_json",
    "responder_json",
    "responder_request_json",
    "service_json",
    "status_update_json",
    "subscription_json",
    "user_json",
    "webhook_envelope",
]

Json = dict[str, object]


@dataclass(frozen=True, slots=True)
class Urls:
    """Where `self` (API) and `html_url` (web UI) links point; both reachable on the sim."""

    api: str

    @property
    def html(self) -> str:
        return self.api


def ts(value: datetime | None) -> str | None:
    """REST timestamps: ISO 8601, seconds, `Z`."""
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def ts_ms(value: datetime) -> str:
    """Webhook `occurred_at` carries milliseconds."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _ref(kind: str, path: str, obj_id: str, summary: str, urls: Urls, html_path: str) -> Json:
    return {
        "id": obj_id,
        "type": f"{kind}_reference",
        "summary": summary,
        "self": f"{urls.api}/{path}/{obj_id}",
        "html_url": f"{urls.html}/{html_path}/{obj_id}",
    }


def user_ref(user: User, urls: Urls) -> Json:
    return _ref("user", "users", user.id, user.name, urls, "users")


def agent_ref(
    state: PagerDutyState, agent_id: str | None, urls: Urls, *, webhook: bool = False
) -> Json | None:
    """Who did it: a user, or an integration (Events API). Webhooks name the integration as
    `inbound_integration_reference` (captures); REST's `AgentReference` only knows user,
    service and integration references, and names the integration's service."""
    if agent_id is None:
        return None
    user = state.users.get(agent_id)
    if user is not None:
        return user_ref(user, urls)
    integration = state.integrations.get(agent_id)
    if integration is None:
        return None
    if not webhook:
        return service_ref(state.services[integration.service_id], urls)
    path = f"services/{integration.service_id}/integrations"
    return _ref("inbound_integration", path, integration.id, integration.name, urls, path)


def service_ref(service: Service, urls: Urls) -> Json:
    return _ref("service", "services", service.id, service.name, urls, "service-directory")


def incident_ref(incident: Incident, urls: Urls) -> Json:
    return _ref("incident", "incidents", incident.id, incident.title, urls, "incidents")


def _ep_ref(state: PagerDutyState, ep_id: str, urls: Urls) -> Json:
    ep = state.escalation_policies[ep_id]
    return _ref(
        "escalation_policy", "escalation_policies", ep.id, ep.name, urls, "escalation_policies"
    )


def priority_json(priority: Priority, urls: Urls) -> Json:
    return {
        "id": priority.id,
        "type": "priority",
        "summary": priority.name,
        "self": f"{urls.api}/priorities/{priority.id}",
        "html_url": None,
        "name": priority.name,
        "description": priority.description,
        "order": priority.order,
    }


def _priority_webhook_ref(priority: Priority, urls: Urls) -> Json:
    return {
        "id": priority.id,
        "type": "priority_reference",
        "summary": priority.name,
        "self": f"{urls.api}/priorities/{priority.id}",
        "html_url": f"{urls.html}/account/incident_priorities",
    }


def user_json(user: User, urls: Urls) -> Json:
    return {
        "id": user.id,
        "type": "user",
        "summary": user.name,
        "self": f"{urls.api}/users/{user.id}",
        "html_url": f"{urls.html}/users/{user.id}",
        "name": user.name,
        "email": user.email,
        "time_zone": user.time_zone,
        "color": user.color,
        "role": user.role,
        "avatar_url": f"{urls.html}/avatars/{user.id}.png",
        "description": None,
        "invitation_sent": False,
        "created_via_sso": False,
        "job_title": user.job_title,
        "contact_methods": [],
        "notification_rules": [],
        "teams": [],
    }


def service_json(state: PagerDutyState, service: Service, urls: Urls) -> Json:
    return {
        "id": service.id,
        "type": "service",
        "summary": service.name,
        "self": f"{urls.api}/services/{service.id}",
        "html_url": f"{urls.html}/service-directory/{service.id}",
        "name": service.name,
        "description": service.description,
        "auto_resolve_timeout": None,
        "acknowledgement_timeout": None,
        "status": "active",
        "alert_creation": "create_alerts_and_incidents",
        "escalation_policy": _ep_ref(state, service.escalation_policy_id, urls),
        "teams": [],
        "integrations": [],
        "incident_urgency_rule": {"type": "constant", "urgency": service.default_urgency},
    }


def incident_json(
    state: PagerDutyState, incident: Incident, urls: Urls, include: frozenset[str] = frozenset()
) -> Json:
    """The `Incident` schema of `GET /incidents/{id}`."""
    service = state.services[incident.service_id]
    priority = state.priorities.get(incident.priority_id) if incident.priority_id else None
    body: Json = {
        "id": incident.id,
        "type": "incident",
        "summary": f"[#{incident.number}] {incident.title}",
        "self": f"{urls.api}/incidents/{incident.id}",
        "html_url": f"{urls.html}/incidents/{incident.id}",
        "incident_number": incident.number,
        "title": incident.title,
        "description": incident.title,
        "created_at": ts(incident.created_at),
        "updated_at": ts(incident.updated_at),
        "status": incident.status,
        "incident_key": incident.incident_key,
        "service": service_ref(service, urls),
        "assignments": [
            {"at": ts(a.at), "assignee": user_ref(state.users[a.user_id], urls)}
            for a in incident.assignments
        ],
        "assigned_via": incident.assigned_via,
        "last_status_change_at": ts(incident.last_status_change_at),
        "last_status_change_by": agent_ref(state, incident.last_status_change_by, urls),
        "resolved_at": ts(incident.resolved_at),
        "first_trigger_log_entry": {
            "id": f"R{incident.id[1:]}",
            "type": "trigger_log_entry_reference",
            "summary": "Triggered through the API",
            "self": f"{urls.api}/log_entries/R{incident.id[1:]}?incident_id={incident.id}",
            "html_url": f"{urls.html}/incidents/{incident.id}/log_entries/R{incident.id[1:]}",
        },
        "alert_counts": {"all": 0, "triggered": 0, "resolved": 0},
        "is_mergeable": True,
        "incident_type": {"name": "incident_default"},
        "escalation_policy": _ep_ref(state, incident.escalation_policy_id, urls),
        "teams": [],
        "pending_actions": [],
        "acknowledgements": [
            {"at": ts(a.at), "acknowledger": agent_ref(state, a.user_id, urls)}
            for a in incident.acknowledgements
        ],
        "priority": priority_json(priority, urls) if priority else None,
        "resolve_reason": None,
        "urgency": incident.urgency,
        "incidents_responders": [
            responder_json(state, r, urls) for r in state.responders.get(incident.id, [])
        ],
        "responder_requests": [
            responder_request_json(state, r, urls)
            for r in state.responder_requests.get(incident.id, [])
        ],
    }
    # Both are only returned when asked for with include[].
    if "conference_bridge" in include:
        body["conference_bridge"] = incident.conference_bridge
    if "body" in include:
        body["body"] = {"type": "incident_body", "details": incident.body_details}
    return body


def webhook_incident_json(state: PagerDutyState, incident: Incident, urls: Urls) -> Json:
    """The webhook v3 `incident` data type: `number`, flat `assignees`, no body."""
    service = state.services[incident.service_id]
    priority = state.priorities.get(incident.priority_id) if incident.priority_id else None
    data: Json = {
        "id": incident.id,
        "type": "incident",
        "self": f"{urls.api}/incidents/{incident.id}",
        "html_url": f"{urls.html}/incidents/{incident.id}",
        "number": incident.number,
        "status": incident.status,
        "incident_key": incident.incident_key,
        "created_at": ts(incident.created_at),
        "title": incident.title,
        "service": service_ref(service, urls),
        "assignees": [user_ref(state.users[a.user_id], urls) for a in incident.assignments],
        "escalation_policy": _ep_ref(state, incident.escalation_policy_id, urls),
        "teams": [],
        "priority": _priority_webhook_ref(priority, urls) if priority else None,
        "urgency": incident.urgency,
        "conference_bridge": incident.conference_bridge,
        "resolve_reason": None,
        "incident_type": {"name": "incident_default"},
    }
    if incident.reopened_at is not None:
        data["reopened_at"] = ts(incident.reopened_at)
    return data


def note_json(state: PagerDutyState, note: Note, urls: Urls) -> Json:
    return {
        "id": note.id,
        "user": user_ref(state.users[note.user_id], urls),
        "channel": {"summary": "The PagerDuty website or APIs"},
        "content": note.content,
        "created_at": ts(note.created_at),
        "updated_at": ts(note.updated_at),
    }


def responder_json(state: PagerDutyState, responder: Responder, urls: Urls) -> Json:
    """`IncidentsRespondersReference` (REST)."""
    return {
        "state": responder.state,
        "user": user_ref(state.users[responder.user_id], urls),
        "incident": incident_ref(state.incidents[responder.incident_id], urls),
        "updated_at": ts(responder.updated_at),
        "message": responder.message,
        "requester": user_ref(state.users[responder.requester_id], urls),
        "requested_at": ts(responder.requested_at),
    }


def responder_request_json(state: PagerDutyState, request: ResponderRequest, urls: Urls) -> Json:
    """`ResponderRequest`: the targets with the responders each produced (current states)."""
    targets = []
    for target in request.targets:
        if target.type == "user":
            summary = state.users[target.id].name
        else:
            summary = state.escalation_policies[target.id].name
        targets.append(
            {
                "responder_request_target": {
                    "type": target.type,
                    "id": target.id,
                    "summary": summary,
                    "incidents_responders": [
                        responder_json(state, r, urls) for r in state.responders_of(request, target)
                    ],
                }
            }
        )
    return {
        "id": request.id,
        "incident": incident_ref(state.incidents[request.incident_id], urls),
        "requester": user_ref(state.users[request.requester_id], urls),
        "requested_at": ts(request.requested_at),
        "message": request.message,
        "responder_request_targets": targets,
    }


def status_update_json(state: PagerDutyState, update: StatusUpdate, urls: Urls) -> Json:
    body: Json = {
        "id": update.id,
        "message": update.message,
        "created_at": ts(update.created_at),
        "sender": user_ref(state.users[update.sender_id], urls),
    }
    if update.subject is not None:
        body["subject"] = update.subject
    if update.html_message is not None:
        body["html_message"] = update.html_message
    return body


def log_entry_json(state: PagerDutyState, entry: LogEntry, urls: Urls) -> Json:
    incident = state.incidents[entry.incident_id]
    body: Json = {
        "id": entry.id,
        "type": entry.type,
        "summary": entry.summary,
        "self": f"{urls.api}/log_entries/{entry.id}?incident_id={incident.id}",
        "html_url": f"{urls.html}/incidents/{incident.id}/log_entries/{entry.id}",
        "created_at": ts(entry.created_at),
        "agent": agent_ref(state, entry.agent_id, urls),
        "channel": {"type": "api"},
        "service": service_ref(state.services[incident.service_id], urls),
        "incident": incident_ref(incident, urls),
        "teams": [],
        "contexts": [],
    }
    if entry.type in ("assign_log_entry", "escalate_log_entry", "trigger_log_entry"):
        body["assignees"] = [user_ref(state.users[u], urls) for u in entry.assignee_ids]
    return body


def webhook_envelope(
    state: PagerDutyState, event: IncidentEvent, event_id: str, urls: Urls
) -> Json:
    """`{"event": {...}}` as delivered; rendered when the event happens (a snapshot)."""
    incident = state.incidents[event.incident_id]
    data: Json
    if event.event_type == "incident.annotated" and event.note_id is not None:
        note = state.note(incident.id, event.note_id)
        data = {
            "incident": incident_ref(incident, urls),
            "id": note.id,
            "content": note.content,
            "trimmed": False,
            "type": "incident_note",
        }
    elif event.event_type.startswith("incident.responder.") and event.responder_id:
        responder = next(
            r for r in state.responders[incident.id] if r.user_id == event.responder_id
        )
        # Webhook states: "pending" on add, "accepted"/"declined" on reply (captures).
        hook_state = {"joined": "accepted"}.get(responder.state, responder.state)
        data = {
            "incident": incident_ref(incident, urls),
            "user": user_ref(state.users[responder.user_id], urls),
            "escalation_policy": (
                _ep_ref(state, responder.escalation_policy_id, urls)
                if responder.escalation_policy_id
                else None
            ),
            "message": responder.message,
            "state": hook_state,
            "type": "incident_responder",
        }
    elif event.event_type == "incident.status_update_published" and event.status_update_id:
        update = next(
            u for u in state.status_updates[incident.id] if u.id == event.status_update_id
        )
        data = {
            "incident": incident_ref(incident, urls),
            "id": update.id,
            "message": update.message,
            "trimmed": False,
            "type": "incident_status_update",
        }
    else:
        data = webhook_incident_json(state, incident, urls)
    return {
        "event": {
            "id": event_id,
            "event_type": event.event_type,
            "resource_type": "incident",
            "occurred_at": ts_ms(event.occurred_at),
            "agent": agent_ref(state, event.agent_id, urls, webhook=True),
            "client": {"name": "PagerDuty"},
            "data": data,
        }
    }


def subscription_json(sub: Subscription, *, with_secret: bool) -> Json:
    """The secret is "Only provided on the initial create response"."""
    filter_json: Json = {"type": sub.filter_type}
    if sub.filter_id is not None:
        filter_json["id"] = sub.filter_id
    return {
        "id": sub.id,
        "type": "webhook_subscription",
        "active": sub.active,
        "delivery_method": {
            "id": sub.delivery_method_id,
            "secret": sub.secrets[0] if with_secret and sub.secrets else None,
            "temporarily_disabled": sub.temporarily_disabled,
            "type": "http_delivery_method",
            "url": sub.url,
            "custom_headers": [
                {"name": name, "value": "-- redacted --"} for name, _ in sub.custom_headers
            ],
        },
        "description": sub.description,
        "events": list(sub.events),
        "filter": filter_json,
    }
