"""Wiring: routes, middleware order and lifespan of the PagerDuty simulator app."""

from __future__ import annotations

import msgspec
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from pdjira_simulators.common.app import simulator_app
from pdjira_simulators.common.asgi import header
from pdjira_simulators.common.jsonresp import JsonResponse
from pdjira_simulators.pagerduty.admin import admin_routes
from pdjira_simulators.pagerduty.errors import PdError, error_body, pd_error_handler
from pdjira_simulators.pagerduty.events_api import events_api_routes
from pdjira_simulators.pagerduty.gateway import PdGatewayMiddleware
from pdjira_simulators.pagerduty.rest import rest_routes
from pdjira_simulators.pagerduty.runtime import PagerDutySimulator
from pdjira_simulators.pagerduty.settings import PagerDutySettings

__all__ = ["create_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "Not Found" if exc.status_code == 404 else str(exc.detail)
    code = 2100 if exc.status_code == 404 else 2001
    return JsonResponse(error_body(message, code), status_code=exc.status_code)


def _throttled(sim: PagerDutySimulator) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """PagerDuty's 429 (rate-limits doc): code 2020 and the `ratelimit-*` headers."""
    limiter = sim.limiter
    headers = [
        (b"ratelimit-limit", str(limiter.limit).encode()),
        (b"ratelimit-remaining", b"0"),
        (b"ratelimit-reset", str(max(1, round(limiter.window))).encode()),
    ]
    return msgspec.json.encode(error_body("Rate Limit Exceeded", 2020)), headers


def _contract_error(message: str) -> bytes:
    return msgspec.json.encode(error_body("Simulator contract check failed", 2000, [message]))


def create_app(settings: PagerDutySettings | None = None) -> Starlette:
    """A fresh simulated PagerDuty account; `app.state.sim` is the PagerDutySimulator."""
    sim = PagerDutySimulator(settings or PagerDutySettings())
    return simulator_app(
        sim,
        routes=[*admin_routes(sim), *events_api_routes(sim), *rest_routes(sim)],
        gateway=Middleware(
            PdGatewayMiddleware,
            tokens=sim.tokens,
            limiter=sim.limiter,
            require_accept=sim.settings.require_accept_header,
        ),
        actor=lambda scope: header(scope, b"from"),
        unavailable_body=msgspec.json.encode(error_body("Service Unavailable", 2000)),
        throttled=lambda: _throttled(sim),
        contract_error=_contract_error,
        contract_exempt=("/v2/",),  # Events API v2: not part of the REST document
        exception_handlers={PdError: pd_error_handler, HTTPException: _http_error},
    )
