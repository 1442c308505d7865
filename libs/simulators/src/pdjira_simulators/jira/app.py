"""Wiring: routes, middleware order and lifespan of the Jira simulator app."""

from __future__ import annotations

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from pdjira_simulators.common.app import simulator_app
from pdjira_simulators.common.jsonresp import JsonResponse
from pdjira_simulators.jira.admin import admin_routes
from pdjira_simulators.jira.errors import JiraError, error_body, jira_error_handler
from pdjira_simulators.jira.gateway import USER_STATE_KEY, JiraGatewayMiddleware
from pdjira_simulators.jira.registration import registration_routes
from pdjira_simulators.jira.rest import rest_routes
from pdjira_simulators.jira.rest_items import item_routes
from pdjira_simulators.jira.runtime import JiraSimulator
from pdjira_simulators.jira.service_desk import service_desk_routes
from pdjira_simulators.jira.settings import JiraSettings

__all__ = ["create_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return JsonResponse(error_body(["null for uri: " + str(request.url)]), status_code=404)
    return JsonResponse(error_body([str(exc.detail)]), status_code=exc.status_code)


def _acting_user(scope: Scope) -> str | None:
    value = scope.get("state", {}).get(USER_STATE_KEY)
    return str(value) if value else None


def _throttled() -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """Jira DC's 429 (as the gateway's token bucket answers): Retry-After and X-RateLimit-*."""
    headers = [
        (b"x-ratelimit-limit", b"10"),
        (b"x-ratelimit-remaining", b"0"),
        (b"x-ratelimit-fillrate", b"1"),
        (b"x-ratelimit-interval-seconds", b"1"),
        (b"retry-after", b"1"),
    ]
    return msgspec.json.encode(error_body(["Rate limit exceeded."])), headers


def _contract_error(message: str) -> bytes:
    return msgspec.json.encode(error_body(["Simulator contract check failed: " + message]))


def create_app(settings: JiraSettings | None = None) -> Starlette:
    """A fresh simulated Jira instance; `app.state.sim` is the JiraSimulator."""
    sim = JiraSimulator(settings or JiraSettings())
    return simulator_app(
        sim,
        routes=[
            *admin_routes(sim),
            *registration_routes(sim),
            *rest_routes(sim),
            *item_routes(sim),
            *service_desk_routes(sim),
        ],
        gateway=Middleware(JiraGatewayMiddleware, sim=sim),
        actor=_acting_user,
        unavailable_body=msgspec.json.encode(error_body(["Service Unavailable (simulated fault)"])),
        throttled=_throttled,
        contract_error=_contract_error,
        # Webhook registration belongs to separate REST modules the document omits.
        # Jira Service Management's API (`/rest/servicedeskapi`) is not in the document either.
        contract_exempt=("/rest/webhooks/", "/rest/jira-webhook/", "/rest/servicedeskapi/"),
        exception_handlers={JiraError: jira_error_handler, HTTPException: _http_error},
    )
