"""Events API v2 (`POST /v2/enqueue`): alerts from monitoring, deduplicated by `dedup_key`.

Real PagerDuty serves it on events.pagerduty.com; the simulator serves it on the same port.
No auth header: the `routing_key` in the body authenticates, ~120 events/min per key.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.jsonresp import JsonResponse, MalformedJson, read_json
from pdjira_simulators.common.ratelimit import FixedWindowLimiter
from pdjira_simulators.pagerduty.errors import PdError
from pdjira_simulators.pagerduty.runtime import PagerDutySimulator

__all__ = ["events_api_routes", "validate_event"]

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
SEVERITY_URGENCY = {"critical": "high", "error": "high", "warning": "low", "info": "low"}


def _invalid(*errors: str) -> Response:
    return JsonResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)},
        status_code=400,
    )


def validate_event(body: Any) -> list[str]:
    """The documented limits: summary <= 1024, dedup_key <= 255 (required unless trigger)."""
    if not isinstance(body, dict):
        return ["Event object format is unrecognized"]
    errors = []
    if not isinstance(body.get("routing_key"), str) or len(body["routing_key"]) != 32:
        errors.append("'routing_key' is invalid")
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup = body.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        payload = body.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or blank")
        else:
            summary = payload.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                errors.append("'payload.summary' is missing or blank")
            elif len(summary) > 1024:
                errors.append("'payload.summary' must be at most 1024 characters")
            if not isinstance(payload.get("source"), str) or not payload["source"].strip():
                errors.append("'payload.source' is missing or blank")
            if payload.get("severity") not in SEVERITIES:
                errors.append(
                    "'payload.severity' is invalid (must be one of critical, error, warning, info)"
                )
    return errors


def events_api_routes(sim: PagerDutySimulator) -> list[Route]:
    state = sim.state
    limiter = FixedWindowLimiter(120, 60.0)

    async def enqueue(request: Request) -> Response:
        try:
            body = await read_json(request)
        except MalformedJson:
            return JsonResponse(
                {
                    "status": "Unrecognized object",
                    "message": "Event object format is unrecognized",
                    "errors": ["JSON parse error"],
                },
                status_code=400,
            )
        errors = validate_event(body)
        if errors:
            return _invalid(*errors)
        integration = state.integration_by_key(body["routing_key"])
        if integration is None:
            return _invalid("Invalid routing key")
        if not limiter.hit(integration.routing_key).allowed:
            return JsonResponse(
                {
                    "status": "throttle event",
                    "message": "Requests for this "
                    "service are arriving too quickly. Please retry later.",
                },
                status_code=429,
            )
        action, dedup = body["event_action"], body.get("dedup_key")
        urls = sim.urls(request)
        if action == "trigger":
            existing = state.open_incident_by_key(integration.service_id, dedup) if dedup else None
            if existing is None:  # a trigger for an open dedup_key only adds an alert
                payload = body["payload"]
                incident, events = state.create_incident(
                    agent_id=integration.id,
                    title=payload["summary"],
                    service_id=integration.service_id,
                    urgency=SEVERITY_URGENCY[payload["severity"]],
                    incident_key=dedup,
                )
                dedup = incident.incident_key
                sim.emit(events, urls)
        else:
            existing = state.open_incident_by_key(integration.service_id, dedup)
            if existing is not None:  # after a resolve, ack/resolve events are dropped
                status = "acknowledged" if action == "acknowledge" else "resolved"
                try:
                    _, events = state.update_incident(
                        existing.id, agent_id=integration.id, status=status
                    )
                except PdError:
                    events = []
                sim.emit(events, urls)
        return JsonResponse(
            {"status": "success", "message": "Event processed", "dedup_key": dedup},
            status_code=202,
        )

    return [Route("/v2/enqueue", enqueue, methods=["POST"])]
