"""Webhook registration REST APIs: Jira <= 9 (`/rest/webhooks/1.0/webhook`) and Jira DC >= 10
(`/rest/jira-webhook/1.0/webhooks`). Both manage the same list, as one instance would."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.jsonresp import JsonResponse
from pdjira_simulators.jira import jql
from pdjira_simulators.jira.errors import JiraError, not_found
from pdjira_simulators.jira.rest import acting_user, json_body
from pdjira_simulators.jira.runtime import JiraSimulator
from pdjira_simulators.jira.search import compile_query
from pdjira_simulators.jira.state import JiraState
from pdjira_simulators.jira.webhooks import Registration

__all__ = ["registration_routes"]

V1 = "/rest/webhooks/1.0/webhook"
V10 = "/rest/jira-webhook/1.0/webhooks"


def _ms(reg: Registration, attr: str) -> int | None:
    value = getattr(reg, attr)
    return int(value.timestamp() * 1000) if value else None


def _v1_json(reg: Registration, base: str, user: str) -> dict[str, Any]:
    return {
        "name": reg.name,
        "url": reg.url,
        "excludeBody": reg.exclude_body,
        "filters": {"issue-related-events-section": reg.jql or ""},
        "events": list(reg.events),
        "enabled": reg.active,
        "self": f"{base}{V1}/{reg.id}",
        "lastUpdatedUser": user,
        "lastUpdatedDisplayName": user,
        "lastUpdated": _ms(reg, "updated"),
    }


def _v10_json(reg: Registration) -> dict[str, Any]:
    return {
        "id": reg.id,
        "name": reg.name,
        "url": reg.url,
        "description": reg.description,
        "events": list(reg.events),
        "filters": {"issue-related-events-section": reg.jql or ""},
        "excludeBody": reg.exclude_body,
        "createdDate": _ms(reg, "created"),
        "updatedDate": _ms(reg, "updated"),
        "configuration": {"EXCLUDE_BODY": str(reg.exclude_body).lower(), "FILTERS": reg.jql or ""},
        "active": reg.active,
        "scopeType": "GLOBAL",
        "sslVerificationRequired": True,
    }


def _parse(body: dict[str, Any], state: JiraState) -> dict[str, Any]:
    """Both APIs' inputs -> fields of a Registration; invalid JQL (with the instance's custom
    fields: an unknown field is invalid) is a 400."""
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise JiraError(400, [], {"url": "URL is required."})
    events = body.get("events")
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise JiraError(400, [], {"events": "At least one event is required."})
    filters = body.get("filters") if isinstance(body.get("filters"), dict) else {}
    query = (filters or {}).get("issue-related-events-section") or body.get("jqlFilter") or None
    if query:
        try:
            compile_query(str(query), state)
        except jql.JqlError as exc:
            raise JiraError(400, [], {"filters": str(exc)}) from None
    return {
        "name": body.get("name") or "",
        "url": url,
        "events": events,
        "jql": query,
        "exclude_body": bool(body.get("excludeBody") or body.get("excludeIssueDetails")),
        "secret": body.get("secret"),
        "active": body.get("enabled", body.get("active", True)) is not False,
        "description": body.get("description") or "",
    }


def registration_routes(sim: JiraSimulator) -> list[Route]:
    def _reg(request: Request) -> Registration:
        try:
            reg = sim.registrations.get(int(request.path_params["id"]))
        except ValueError:
            reg = None
        if reg is None:
            raise not_found("Webhook not found")
        return reg

    async def v1_collection(request: Request) -> Response:
        user = acting_user(sim, request)
        base = sim.base(request)
        if request.method == "POST":
            reg = sim.register(_parse(await json_body(request), sim.state))
            return JsonResponse(_v1_json(reg, base, user.name), status_code=201)
        return JsonResponse([_v1_json(r, base, user.name) for r in sim.registrations.values()])

    async def v10_collection(request: Request) -> Response:
        acting_user(sim, request)
        if request.method == "POST":
            reg = sim.register(_parse(await json_body(request), sim.state))
            return JsonResponse(_v10_json(reg), status_code=201)
        event = request.query_params.get("event")
        regs = [r for r in sim.registrations.values() if event is None or event in r.events]
        return JsonResponse([_v10_json(r) for r in regs])

    async def item(request: Request) -> Response:
        user = acting_user(sim, request)
        reg = _reg(request)
        v1 = request.url.path.startswith(V1)
        if request.method == "DELETE":
            del sim.registrations[reg.id]
            return Response(status_code=204)
        if request.method == "PUT":
            fields = _parse(await json_body(request), sim.state)
            reg.name, reg.url, reg.events = fields["name"], fields["url"], tuple(fields["events"])
            reg.jql, reg.exclude_body = fields["jql"], fields["exclude_body"]
            reg.active, reg.description = fields["active"], fields["description"]
            if fields["secret"] is not None:
                reg.secret = fields["secret"]
            reg.updated = sim.state.now()
        body = _v1_json(reg, sim.base(request), user.name) if v1 else _v10_json(reg)
        return JsonResponse(body)

    return [
        Route(V1, v1_collection, methods=["GET", "POST"]),
        Route(V1 + "/{id}", item, methods=["GET", "PUT", "DELETE"]),
        Route(V10, v10_collection, methods=["GET", "POST"]),
        Route(V10 + "/{id}", item, methods=["GET", "PUT", "DELETE"]),
    ]
