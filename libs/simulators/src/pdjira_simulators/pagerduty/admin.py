"""`/_sim/*` test and admin endpoints: a person using the PagerDuty UI, and introspection.

No auth, never rate limited, faulted or logged: they are the test's hands, not the vendor API.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.jsonresp import JsonResponse
from pdjira_simulators.common.routes import RouteTable
from pdjira_simulators.pagerduty.errors import invalid_input
from pdjira_simulators.pagerduty.rest import json_object, str_field
from pdjira_simulators.pagerduty.runtime import SIM_SUBSCRIPTION_ID, PagerDutySimulator
from pdjira_simulators.pagerduty.state import UNSET, User
from pdjira_simulators.pagerduty.views import incident_json, note_json, subscription_json

__all__ = ["admin_routes"]


def _as_user(sim: PagerDutySimulator, body: dict[str, Any]) -> User:
    """`as_user` is a user id (or e-mail); the default is the on-call person PUSER01."""
    ref = str_field(body, "as_user") or "PUSER01"
    user = sim.state.users.get(ref) or sim.state.user_by_email(ref)
    if user is None:
        raise invalid_input(f"Unknown user {ref}")
    return user


def admin_routes(sim: PagerDutySimulator) -> list[Route]:
    state = sim.state
    route = RouteTable()

    @route("/_sim/incidents", "POST")
    async def trigger(request: Request) -> Response:
        body = await json_object(request)
        agent = _as_user(sim, body)
        incident, events = state.create_incident(
            agent_id=agent.id,
            title=str_field(body, "title") or "",
            service_id=str_field(body, "service_id") or "PSVC001",
            urgency=str_field(body, "urgency"),
            incident_key=str_field(body, "incident_key"),
            priority=body.get("priority"),
            body_details=str_field(body, "details"),
        )
        urls = sim.urls(request)
        sim.emit(events, urls)
        return JsonResponse({"incident": incident_json(state, incident, urls)}, status_code=201)

    @route("/_sim/incidents/{id}/status", "POST")
    async def set_status(request: Request) -> Response:
        body = await json_object(request)
        agent = _as_user(sim, body)
        status = str_field(body, "status")
        if status is None:
            raise invalid_input("status is required")
        incident, events = state.update_incident(
            request.path_params["id"], agent_id=agent.id, status=status
        )
        urls = sim.urls(request)
        sim.emit(events, urls)
        return JsonResponse({"incident": incident_json(state, incident, urls)})

    @route("/_sim/incidents/{id}/update", "POST")
    async def update(request: Request) -> Response:
        """Priority / urgency / title edits made in the UI (`priority`: name, id or null)."""
        body = await json_object(request)
        agent = _as_user(sim, body)
        priority: object = UNSET
        if "priority" in body:
            raw = body["priority"]
            priority = {"id": raw} if isinstance(raw, str) and raw in state.priorities else raw
        incident, events = state.update_incident(
            request.path_params["id"],
            agent_id=agent.id,
            status=str_field(body, "status"),
            priority=priority,
            urgency=str_field(body, "urgency"),
            title=str_field(body, "title"),
        )
        urls = sim.urls(request)
        sim.emit(events, urls)
        return JsonResponse({"incident": incident_json(state, incident, urls)})

    @route("/_sim/incidents/{id}/notes", "POST")
    async def add_note(request: Request) -> Response:
        body = await json_object(request)
        agent = _as_user(sim, body)
        content = str_field(body, "content")
        if content is None:
            raise invalid_input("content is required")
        note, events = state.add_note(request.path_params["id"], agent_id=agent.id, content=content)
        urls = sim.urls(request)
        sim.emit(events, urls)
        return JsonResponse({"note": note_json(state, note, urls)}, status_code=201)

    @route("/_sim/state", "GET")
    async def dump_state(request: Request) -> Response:
        urls = sim.urls(request)
        return JsonResponse(
            {
                "incidents": [
                    incident_json(state, i, urls, frozenset({"conference_bridge", "body"}))
                    for i in state.incidents.values()
                ],
                "notes": {
                    iid: [note_json(state, n, urls) for n in notes]
                    for iid, notes in state.notes.items()
                },
                "webhook_subscriptions": [
                    subscription_json(s, with_secret=False) for s in state.subscriptions.values()
                ],
            }
        )

    @route("/_sim/webhook-target", "GET", "PUT", "DELETE")
    async def webhook_target(request: Request) -> Response:
        if request.method == "PUT":
            body = await json_object(request)
            url = str_field(body, "url")
            secrets = body.get("secrets")
            if secrets is None and isinstance(body.get("secret"), str):
                secrets = [body["secret"]]
            secrets = secrets or []
            if not isinstance(secrets, list) or not all(isinstance(s, str) for s in secrets):
                raise invalid_input("secrets must be an array of strings")
            sim.set_webhook_target(url, secrets)
        elif request.method == "DELETE":
            sim.set_webhook_target(None, [])
        sub = state.subscriptions.get(SIM_SUBSCRIPTION_ID)
        return JsonResponse(
            {"url": sub.url if sub else None, "subscription_id": sub.id if sub else None}
        )

    @route("/_sim/log-entries", "GET")
    async def log_entries(request: Request) -> Response:
        """Every incident's timeline, oldest first: who changed what and when (the REST
        `GET /log_entries` pages and rate limits; a test reads the whole account at once)."""
        return JsonResponse(
            {
                "log_entries": [
                    {
                        "id": e.id,
                        "type": e.type,
                        "incident_id": e.incident_id,
                        "agent_id": e.agent_id,
                        "created_at": e.created_at.isoformat(),
                        "summary": e.summary,
                    }
                    for e in state.log_entries
                ]
            }
        )

    @route("/_sim/ratelimit", "GET", "PUT")
    async def ratelimit(request: Request) -> Response:
        if request.method == "PUT":
            body = await json_object(request)
            limit = body.get("limit", sim.settings.rate_limit_per_minute)
            window = body.get("window_seconds", 60)
            if not isinstance(limit, int) or limit < 1:
                raise invalid_input("limit must be a positive integer")
            if not isinstance(window, int | float) or window <= 0:
                raise invalid_input("window_seconds must be positive")
            sim.limiter.configure(limit, float(window))
        return JsonResponse({"limit": sim.limiter.limit, "window_seconds": sim.limiter.window})

    @route("/_sim/incidents/{id}/escalate", "POST")
    async def escalate(request: Request) -> Response:
        """PagerDuty escalating on its own (no `as_user`: agent null) or a person doing it."""
        body = await json_object(request)
        as_user = str_field(body, "as_user")
        agent = _as_user(sim, body) if as_user else None
        to_user = str_field(body, "to_user") or "PUSER02"
        incident, events = state.escalate(
            request.path_params["id"], agent_id=agent.id if agent else None, to_user_id=to_user
        )
        urls = sim.urls(request)
        sim.emit(events, urls)
        return JsonResponse({"incident": incident_json(state, incident, urls)})

    @route("/_sim/incidents/{id}/responders/{user_id}/reply", "POST")
    async def responder_reply(request: Request) -> Response:
        body = await json_object(request)
        accept = body.get("accept", True)
        if not isinstance(accept, bool):
            raise invalid_input("accept must be a boolean")
        _, events = state.reply_as_responder(
            request.path_params["id"], request.path_params["user_id"], accept=accept
        )
        urls = sim.urls(request)
        sim.emit(events, urls)
        incident = state.incident(request.path_params["id"])
        return JsonResponse({"incident": incident_json(state, incident, urls)})

    @route("/_sim/users", "POST")
    async def add_user(request: Request) -> Response:
        """A new user ``{"name", "email", "id"?, "token"?}``; ``token``: a user-level API key."""
        body = await json_object(request)
        name, email = str_field(body, "name"), str_field(body, "email")
        if not name or not email or state.user_by_email(email) is not None:
            raise invalid_input("name and a new email are required")
        user_id = str_field(body, "id") or f"PUSER{len(state.users) + 1:02d}"
        if user_id in state.users:
            raise invalid_input(f"User {user_id} already exists")
        state.users[user_id] = User(user_id, name, email)
        token = str_field(body, "token")
        if token:
            sim.mint_user_token(user_id, token)
        return JsonResponse({"id": user_id, "name": name, "email": email}, status_code=201)

    @route("/_sim/users/{id}/token", "POST")
    async def user_token(request: Request) -> Response:
        """A user-level API key ``{"token"}`` for an existing user."""
        body = await json_object(request)
        user_id, token = request.path_params["id"], str_field(body, "token")
        if user_id not in state.users or not token:
            raise invalid_input("a known user id and a token are required")
        sim.mint_user_token(user_id, token)
        return JsonResponse({"id": user_id}, status_code=201)

    return [
        *sim.common_routes(actor_key="from", subject_key="incident_id"),
        *route.routes,
    ]
