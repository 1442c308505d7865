"""PagerDuty REST API v2 handlers (the subset pdjira uses), shapes per the OpenAPI spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.jsonresp import JsonResponse, MalformedJson, read_json
from pdjira_simulators.pagerduty.errors import (
    FROM_REQUIRED_MESSAGE,
    PdError,
    invalid_input,
    not_found,
)
from pdjira_simulators.pagerduty.gateway import token_from_header
from pdjira_simulators.pagerduty.runtime import PagerDutySimulator
from pdjira_simulators.pagerduty.state import UNSET, IncidentEvent, ResponderTarget, User
from pdjira_simulators.pagerduty.views import (
    incident_json,
    log_entry_json,
    note_json,
    priority_json,
    responder_request_json,
    service_json,
    status_update_json,
    subscription_json,
    user_json,
)

__all__ = ["json_object", "paginate", "rest_routes", "str_field"]

MAX_BULK = 250  # PUT /incidents: "Max 250 incidents per request", 413 beyond
MAX_OFFSET_PLUS_LIMIT = 10000
MAX_RANGE = timedelta(days=183)  # since/until: "Maximum range is 6 months"
DEFAULT_RANGE = timedelta(days=30)  # "default is 1 month"
# Responder request target types accepted (reference and plain names) -> kept as.
_TARGET_TYPES = {
    "user_reference": "user",
    "user": "user",
    "escalation_policy_reference": "escalation_policy",
    "escalation_policy": "escalation_policy",
}


def _time_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.replace(" ", "+"))
    except ValueError:
        raise invalid_input(f"{name} is not a valid ISO 8601 date") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def time_range(request: Request, now: datetime) -> tuple[datetime | None, datetime | None]:
    """`since`/`until` (default: the last month; `date_range=all` ignores both)."""
    if request.query_params.get("date_range") == "all":
        return None, None
    since, until = _time_param(request, "since"), _time_param(request, "until")
    if since is None:
        since = (until or now) - DEFAULT_RANGE
    if until is not None and until < since:
        raise invalid_input("until must be after since")
    if (until or now) - since > MAX_RANGE:
        raise invalid_input("The maximum range of since and until is 6 months")
    return since, until


async def json_object(request: Request, key: str | None = None) -> dict[str, Any]:
    """The body (or `body[key]`) as an object, else PagerDuty's 400 / 2001."""
    try:
        body = await read_json(request)
    except MalformedJson:
        raise invalid_input("Could not parse JSON body") from None
    if key is not None:
        body = body.get(key) if isinstance(body, dict) else None
        if not isinstance(body, dict):
            raise invalid_input(f"{key} must be an object")
    if not isinstance(body, dict):
        raise invalid_input("Request body must be a JSON object")
    return body


def str_field(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid_input(f"{name} must be a string")
    return value


def _ref_id(obj: dict[str, Any], name: str) -> str | None:
    ref = obj.get(name)
    if ref is None:
        return None
    if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
        raise invalid_input(f"{name} must be a reference with an id")
    return str(ref["id"])


def _assignee_ids(obj: dict[str, Any]) -> list[str]:
    raw = obj.get("assignments") or []
    if not isinstance(raw, list):
        raise invalid_input("assignments must be an array")
    ids = []
    for item in raw:
        assignee = item.get("assignee") if isinstance(item, dict) else None
        if not isinstance(assignee, dict) or not isinstance(assignee.get("id"), str):
            raise invalid_input("assignments[].assignee.id is required")
        ids.append(str(assignee["id"]))
    return ids


def _bridge(obj: dict[str, Any]) -> dict[str, str] | None:
    raw = obj.get("conference_bridge")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid_input("conference_bridge must be an object")
    return {k: str(v) for k, v in raw.items() if k in ("conference_number", "conference_url")}


def paginate(request: Request, items: list[Any]) -> tuple[list[Any], dict[str, object]]:
    """Classic pagination: limit (default 25, max 100), offset, total only when asked."""
    try:
        limit = int(request.query_params.get("limit", "25"))
        offset = int(request.query_params.get("offset", "0"))
    except ValueError:
        raise invalid_input("limit and offset must be integers") from None
    if limit < 1 or offset < 0:
        raise invalid_input("limit must be positive and offset non-negative")
    limit = min(limit, 100)
    if offset + limit > MAX_OFFSET_PLUS_LIMIT:
        raise invalid_input(f"Offset + limit must not exceed {MAX_OFFSET_PLUS_LIMIT}")
    page = items[offset : offset + limit]
    want_total = request.query_params.get("total", "false").lower() == "true"
    meta: dict[str, object] = {
        "limit": limit,
        "offset": offset,
        "more": offset + limit < len(items),
        "total": len(items) if want_total else None,
    }
    return page, meta


ACCOUNT_LEVEL_ME_MESSAGE = (
    "Because this request was made using an account-level access token, "
    "we were unable to identify the current user"
)


def _from_user(sim: PagerDutySimulator, request: Request) -> User:
    """The `From` header is required on incident writes and must name a valid user."""
    email = request.headers.get("from")
    if not email or not email.strip():
        raise PdError(400, FROM_REQUIRED_MESSAGE, 2001)
    user = sim.state.user_by_email(email)
    if user is None:
        raise PdError(400, "Requester User Not Found", 1008, [f"No user with email {email}"])
    return user


def _include(request: Request) -> frozenset[str]:
    return frozenset(request.query_params.getlist("include[]"))


def _apply_update(
    sim: PagerDutySimulator, incident_id: str, body: dict[str, Any], agent: User
) -> tuple[str, list[IncidentEvent]]:
    kind = body.get("type")
    if kind not in ("incident", "incident_reference"):
        raise invalid_input("incident.type must be incident or incident_reference")
    urgency = str_field(body, "urgency")
    incident, events = sim.state.update_incident(
        incident_id,
        agent_id=agent.id,
        status=str_field(body, "status"),
        priority=body.get("priority", UNSET),
        urgency=urgency,
        title=str_field(body, "title"),
        escalation_policy_id=_ref_id(body, "escalation_policy"),
        assignee_ids=_assignee_ids(body),
        conference_bridge=_bridge(body),
    )
    return incident.id, events


def rest_routes(sim: PagerDutySimulator) -> list[Route]:
    state = sim.state

    async def list_incidents(request: Request) -> Response:
        q = request.query_params
        since, until = time_range(request, state.now())
        items = state.list_incidents(
            since=since,
            until=until,
            statuses=q.getlist("statuses[]"),
            service_ids=q.getlist("service_ids[]"),
            urgencies=q.getlist("urgencies[]"),
            incident_key=q.get("incident_key"),
            user_ids=q.getlist("user_ids[]"),
        )
        if q.get("sort_by", "").startswith("created_at:desc"):
            items.reverse()
        page, meta = paginate(request, items)
        urls, include = sim.urls(request), _include(request)
        return JsonResponse(
            {"incidents": [incident_json(state, i, urls, include) for i in page], **meta}
        )

    async def create_incident(request: Request) -> Response:
        agent = _from_user(sim, request)
        body = await json_object(request, "incident")
        if body.get("type") != "incident":
            raise invalid_input("incident.type must be incident")
        service_id = _ref_id(body, "service")
        if service_id is None:
            raise invalid_input("Service cannot be empty.")
        details = body.get("body")
        incident, events = state.create_incident(
            agent_id=agent.id,
            title=str_field(body, "title") or "",
            service_id=service_id,
            urgency=str_field(body, "urgency"),
            incident_key=str_field(body, "incident_key"),
            priority=body.get("priority"),
            body_details=str(details.get("details")) if isinstance(details, dict) else None,
            assignee_ids=_assignee_ids(body),
            escalation_policy_id=_ref_id(body, "escalation_policy"),
            conference_bridge=_bridge(body),
        )
        urls = sim.urls(request)
        sim.emit(events, urls)
        return JsonResponse({"incident": incident_json(state, incident, urls)}, status_code=201)

    async def bulk_update(request: Request) -> Response:
        agent = _from_user(sim, request)
        body = await json_object(request)
        items = body.get("incidents")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise invalid_input("incidents must be an array of objects")
        if len(items) > MAX_BULK:
            raise PdError(
                413,
                "Request Entity Too Large",
                2001,
                [f"At most {MAX_BULK} incidents can be updated at once"],
            )
        for item in items:  # validate every id first: no partial bulk update
            if not isinstance(item.get("id"), str):
                raise invalid_input("incidents[].id is required")
            state.incident(item["id"])
        urls = sim.urls(request)
        updated = []
        for item in items:
            incident_id, events = _apply_update(sim, item["id"], item, agent)
            sim.emit(events, urls)
            updated.append(incident_json(state, state.incidents[incident_id], urls))
        return JsonResponse(
            {"incidents": updated, "limit": len(updated), "offset": 0, "more": False, "total": None}
        )

    async def get_incident(request: Request) -> Response:
        incident = state.incident(request.path_params["id"])
        urls = sim.urls(request)
        return JsonResponse({"incident": incident_json(state, incident, urls, _include(request))})

    async def update_incident(request: Request) -> Response:
        agent = _from_user(sim, request)
        body = await json_object(request, "incident")
        incident_id, events = _apply_update(sim, request.path_params["id"], body, agent)
        urls = sim.urls(request)
        sim.emit(events, urls)
        return JsonResponse({"incident": incident_json(state, state.incidents[incident_id], urls)})

    async def list_notes(request: Request) -> Response:
        incident = state.incident(request.path_params["id"])
        urls = sim.urls(request)
        notes = state.notes[incident.id]
        return JsonResponse({"notes": [note_json(state, n, urls) for n in notes]})

    async def create_note(request: Request) -> Response:
        agent = _from_user(sim, request)
        body = await json_object(request, "note")
        content = body.get("content")
        if not isinstance(content, str):
            raise invalid_input("note.content is required")
        note, events = state.add_note(request.path_params["id"], agent_id=agent.id, content=content)
        urls = sim.urls(request)
        sim.emit(events, urls)
        return JsonResponse({"note": note_json(state, note, urls)})  # spec: 200, not 201

    async def update_note(request: Request) -> Response:
        _from_user(sim, request)
        incident = state.incident(request.path_params["id"])
        body = await json_object(request, "note")
        content = body.get("content")
        if not isinstance(content, str) or not content.strip():
            raise invalid_input("note.content is required")
        note = state.note(incident.id, request.path_params["note_id"])
        note.content = content
        note.updated_at = state.now()
        return JsonResponse({"note": note_json(state, note, sim.urls(request))})

    def _log_entries(request: Request, incident_id: str | None) -> Response:
        since, until = time_range(request, state.now())
        entries = [
            e
            for e in state.log_entries
            if (incident_id is None or e.incident_id == incident_id)
            and (since is None or e.created_at >= since)
            and (until is None or e.created_at < until)
        ]
        if request.query_params.get("is_overview", "false").lower() == "true":
            entries = [e for e in entries if e.type != "annotate_log_entry"]
        entries.reverse()  # newest first, as PagerDuty lists them
        page, meta = paginate(request, entries)
        urls = sim.urls(request)
        return JsonResponse({"log_entries": [log_entry_json(state, e, urls) for e in page], **meta})

    async def incident_log_entries(request: Request) -> Response:
        return _log_entries(request, state.incident(request.path_params["id"]).id)

    async def account_log_entries(request: Request) -> Response:
        return _log_entries(request, None)

    async def get_log_entry(request: Request) -> Response:
        entry = next((e for e in state.log_entries if e.id == request.path_params["id"]), None)
        if entry is None:
            raise not_found()
        return JsonResponse({"log_entry": log_entry_json(state, entry, sim.urls(request))})

    async def create_status_update(request: Request) -> Response:
        agent = _from_user(sim, request)
        body = await json_object(request)
        message = body.get("message")
        if not isinstance(message, str):
            raise invalid_input("message is required")
        update, events = state.add_status_update(
            request.path_params["id"],
            sender_id=agent.id,
            message=message,
            subject=str_field(body, "subject"),
            html_message=str_field(body, "html_message"),
        )
        urls = sim.urls(request)
        sim.emit(events, urls)
        return JsonResponse({"status_update": status_update_json(state, update, urls)})

    async def create_responder_request(request: Request) -> Response:
        # No `From` here: the requester is `requester_id` in the body (as documented).
        body = await json_object(request)
        requester = str_field(body, "requester_id")
        if requester is None:
            raise PdError(400, "Invalid Input Provided", 2011, ["requester_id is required"])
        message = str_field(body, "message")
        if message is None:  # required by the document
            raise PdError(400, "Missing Arguments", 2003, ["message is required"])
        raw_targets = body.get("responder_request_targets")
        if not isinstance(raw_targets, list) or not raw_targets:
            raise invalid_input("responder_request_targets is required")
        targets = []
        for item in raw_targets:
            target = item.get("responder_request_target", item) if isinstance(item, dict) else None
            if not isinstance(target, dict) or not isinstance(target.get("id"), str):
                raise invalid_input(
                    "responder_request_targets[].responder_request_target.id is required"
                )
            kind = _TARGET_TYPES.get(str(target.get("type")))
            if kind is None:
                raise invalid_input(
                    "responder_request_target.type must be user_reference or "
                    "escalation_policy_reference"
                )
            targets.append(ResponderTarget(kind, target["id"]))
        incident = state.incident(request.path_params["id"])
        responder_request, events = state.request_responders(
            incident.id, requester_id=requester, message=message, targets=targets
        )
        urls = sim.urls(request)
        sim.emit(events, urls)
        return JsonResponse(
            {"responder_request": responder_request_json(state, responder_request, urls)}
        )

    async def list_users(request: Request) -> Response:
        query = (request.query_params.get("query") or "").lower()
        users = [
            u for u in state.users.values() if query in u.name.lower() or query in u.email.lower()
        ]
        page, meta = paginate(request, users)
        urls = sim.urls(request)
        return JsonResponse({"users": [user_json(u, urls) for u in page], **meta})

    async def current_user(request: Request) -> Response:
        # Only a user-level API key (or an OAuth user token) names a user; PagerDuty refuses
        # an account-level key here with a 400.
        token = token_from_header(request.headers.get("authorization"))
        user = state.users.get(sim.user_tokens.get(token or "", ""))
        if user is None:
            raise PdError(400, ACCOUNT_LEVEL_ME_MESSAGE, 2100)
        return JsonResponse({"user": user_json(user, sim.urls(request))})

    async def get_user(request: Request) -> Response:
        user = state.users.get(request.path_params["id"])
        if user is None:
            raise not_found()
        return JsonResponse({"user": user_json(user, sim.urls(request))})

    async def list_services(request: Request) -> Response:
        query = (request.query_params.get("query") or "").lower()
        services = [s for s in state.services.values() if query in s.name.lower()]
        page, meta = paginate(request, services)
        urls = sim.urls(request)
        return JsonResponse({"services": [service_json(state, s, urls) for s in page], **meta})

    async def get_service(request: Request) -> Response:
        service = state.services.get(request.path_params["id"])
        if service is None:
            raise not_found()
        return JsonResponse({"service": service_json(state, service, sim.urls(request))})

    async def list_priorities(request: Request) -> Response:
        if not state.priorities:
            raise not_found()  # an account without the priorities feature
        ordered = sorted(state.priorities.values(), key=lambda p: p.order)
        page, meta = paginate(request, ordered)
        urls = sim.urls(request)
        return JsonResponse({"priorities": [priority_json(p, urls) for p in page], **meta})

    async def create_subscription(request: Request) -> Response:
        body = await json_object(request, "webhook_subscription")
        method = body.get("delivery_method")
        if not isinstance(method, dict) or not isinstance(method.get("url"), str):
            raise invalid_input("delivery_method.url is required")
        events = body.get("events")
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) for e in events)
        ):
            raise invalid_input("events must be a non-empty array of event types")
        unknown = [e for e in events if not e.startswith(("incident.", "service.", "pagey."))]
        if unknown:
            raise invalid_input(f"Unknown event types: {', '.join(unknown)}")
        flt = body.get("filter")
        if not isinstance(flt, dict) or flt.get("type") not in (
            "account_reference",
            "service_reference",
            "team_reference",
        ):
            raise invalid_input(
                "filter.type must be account_reference, service_reference or team_reference"
            )
        filter_id = flt.get("id")
        if flt["type"] != "account_reference" and not isinstance(filter_id, str):
            raise invalid_input("filter.id is required for service and team filters")
        headers = method.get("custom_headers") or []
        sub = state.add_subscription(
            url=method["url"],
            events=list(dict.fromkeys(events)),
            filter_type=str(flt["type"]),
            filter_id=filter_id if isinstance(filter_id, str) else None,
            description=str(body.get("description") or ""),
            custom_headers=[
                (str(h["name"]), str(h["value"]))
                for h in headers
                if isinstance(h, dict) and "name" in h and "value" in h
            ],
            active=bool(body.get("active", True)),
        )
        return JsonResponse({"webhook_subscription": subscription_json(sub, with_secret=True)})

    async def list_subscriptions(request: Request) -> Response:
        q = request.query_params
        subs = list(state.subscriptions.values())
        if q.get("filter_type"):
            subs = [s for s in subs if s.filter_type == q["filter_type"]]
        if q.get("filter_id"):
            subs = [s for s in subs if s.filter_id == q["filter_id"]]
        page, meta = paginate(request, subs)
        return JsonResponse(
            {
                "webhook_subscriptions": [subscription_json(s, with_secret=False) for s in page],
                **meta,
            }
        )

    def _sub(request: Request) -> Any:
        sub = state.subscriptions.get(request.path_params["id"])
        if sub is None:
            raise not_found()
        return sub

    async def get_subscription(request: Request) -> Response:
        return JsonResponse(
            {"webhook_subscription": subscription_json(_sub(request), with_secret=False)}
        )

    async def update_subscription(request: Request) -> Response:
        sub = _sub(request)
        body = await json_object(request, "webhook_subscription")
        if "delivery_method" in body:
            raise invalid_input("Updating delivery_method is not supported")
        if isinstance(body.get("description"), str):
            sub.description = body["description"]
        if isinstance(body.get("active"), bool):
            sub.active = body["active"]
        if isinstance(body.get("events"), list):
            sub.events = tuple(str(e) for e in body["events"])
        if isinstance(body.get("filter"), dict):
            sub.filter_type = str(body["filter"].get("type", sub.filter_type))
            sub.filter_id = body["filter"].get("id")
        return JsonResponse({"webhook_subscription": subscription_json(sub, with_secret=False)})

    async def delete_subscription(request: Request) -> Response:
        sub = _sub(request)
        del state.subscriptions[sub.id]
        return Response(status_code=204)

    async def enable_subscription(request: Request) -> Response:
        sub = _sub(request)
        sub.active = True
        sub.temporarily_disabled = False
        sub.consecutive_drops = 0
        return JsonResponse({"webhook_subscription": subscription_json(sub, with_secret=False)})

    async def ping_subscription(request: Request) -> Response:
        sim.ping(_sub(request))
        return Response(status_code=202)

    return [
        Route("/incidents", list_incidents, methods=["GET"]),
        Route("/incidents", create_incident, methods=["POST"]),
        Route("/incidents", bulk_update, methods=["PUT"]),
        Route("/incidents/{id}", get_incident, methods=["GET"]),
        Route("/incidents/{id}", update_incident, methods=["PUT"]),
        Route("/incidents/{id}/notes", list_notes, methods=["GET"]),
        Route("/incidents/{id}/notes", create_note, methods=["POST"]),
        Route("/incidents/{id}/notes/{note_id}", update_note, methods=["PUT"]),
        Route("/incidents/{id}/log_entries", incident_log_entries, methods=["GET"]),
        Route("/incidents/{id}/status_updates", create_status_update, methods=["POST"]),
        Route("/incidents/{id}/responder_requests", create_responder_request, methods=["POST"]),
        Route("/log_entries", account_log_entries, methods=["GET"]),
        Route("/log_entries/{id}", get_log_entry, methods=["GET"]),
        Route("/users", list_users, methods=["GET"]),
        Route("/users/me", current_user, methods=["GET"]),
        Route("/users/{id}", get_user, methods=["GET"]),
        Route("/services", list_services, methods=["GET"]),
        Route("/services/{id}", get_service, methods=["GET"]),
        Route("/priorities", list_priorities, methods=["GET"]),
        Route("/webhook_subscriptions", create_subscription, methods=["POST"]),
        Route("/webhook_subscriptions", list_subscriptions, methods=["GET"]),
        Route("/webhook_subscriptions/{id}", get_subscription, methods=["GET"]),
        Route("/webhook_subscriptions/{id}", update_subscription, methods=["PUT"]),
        Route("/webhook_subscriptions/{id}", delete_subscription, methods=["DELETE"]),
        Route("/webhook_subscriptions/{id}/enable", enable_subscription, methods=["POST"]),
        Route("/webhook_subscriptions/{id}/ping", ping_subscription, methods=["POST"]),
    ]
