"""`/_sim/*` test and admin endpoints: a person using the Jira UI, admin configuration, and
introspection. No auth, never rate limited, faulted or logged."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.jsonresp import JsonResponse
from pdjira_simulators.common.ratelimit import TokenBucketLimiter
from pdjira_simulators.common.routes import RouteTable
from pdjira_simulators.jira.catalog import JiraUser
from pdjira_simulators.jira.errors import JiraError
from pdjira_simulators.jira.rest import json_body
from pdjira_simulators.jira.runtime import PERMISSIONS, SIM_WEBHOOK_NAME, JiraSimulator
from pdjira_simulators.jira.views import comment_json, issue_json
from pdjira_simulators.jira.workflow import parse_workflow

__all__ = ["admin_routes"]

DEFAULT_PERSON = "jdoe"  # not the integration's login, so its changes are not echoes


def _as_user(sim: JiraSimulator, body: dict[str, Any]) -> JiraUser:
    ref = body.get("as_user") or DEFAULT_PERSON
    user = sim.state.catalog.user(str(ref))
    if user is None:
        raise JiraError(400, [f"Unknown user {ref}"])
    return user


def _bad(message: str) -> JiraError:
    return JiraError(400, [message])


def _permission_set(raw: object) -> frozenset[str]:
    if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
        raise _bad("permissions must be a list of permission keys")
    unknown = sorted(set(raw) - set(PERMISSIONS))
    if unknown:
        raise _bad(f"unknown permissions: {', '.join(unknown)}")
    return frozenset(raw)


def admin_routes(sim: JiraSimulator) -> list[Route]:
    state, cat = sim.state, sim.state.catalog
    route = RouteTable()

    @route("/_sim/issues", "POST")
    async def create(request: Request) -> Response:
        body = await json_body(request)
        actor = _as_user(sim, body)
        fields = body.get("fields")
        if not isinstance(fields, dict):
            fields = {
                "project": {"key": body.get("project", "OPS")},
                "issuetype": {"name": body.get("issuetype", "Task")},
                "summary": body.get("summary"),
                **({"labels": body["labels"]} if "labels" in body else {}),
                **({"priority": {"name": body["priority"]}} if "priority" in body else {}),
                **({"description": body["description"]} if "description" in body else {}),
            }
        issue, events = state.create_issue(actor, fields, body.get("properties") or [])
        base = sim.base(request)
        sim.emit(events, base)
        return JsonResponse(issue_json(state, issue, base), status_code=201)

    @route("/_sim/issues/{key}/transition", "POST")
    async def transition(request: Request) -> Response:
        body = await json_body(request)
        actor = _as_user(sim, body)
        issue = state.issue(request.path_params["key"])
        available = state.available_transitions(issue)
        chosen = None
        if body.get("transition_id") is not None:
            chosen = next((t for t in available if t.id == str(body["transition_id"])), None)
            if chosen is None:
                raise _bad(f"Transition id '{body['transition_id']}' is not valid for this issue.")
        else:
            target = cat.statuses.get(str(body.get("status")))
            if target is None:
                raise _bad(f"Unknown status {body.get('status')!r}")
            chosen = next((t for t in available if t.to_status_id == target.id), None)
            if chosen is None:
                here = cat.statuses.items[issue.status_id].name
                options = ", ".join(
                    f"{t.name} -> {cat.statuses.items[t.to_status_id].name}" for t in available
                )
                raise _bad(
                    f"'{target.name}' is not reachable from '{here}' in one "
                    f"transition; available: {options or 'none'}"
                )
        fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
        events = state.transition(actor, issue, chosen.id, fields)
        base = sim.base(request)
        sim.emit(events, base)
        return JsonResponse(issue_json(state, issue, base))

    @route("/_sim/issues/{key}/comment", "POST")
    async def comment(request: Request) -> Response:
        body = await json_body(request)
        actor = _as_user(sim, body)
        issue = state.issue(request.path_params["key"])
        if not isinstance(body.get("body"), str):
            raise _bad("body is required")
        new, events = state.add_comment(actor, issue, body["body"])
        base = sim.base(request)
        sim.emit(events, base)
        return JsonResponse(comment_json(cat, issue, new, base), status_code=201)

    @route("/_sim/issues/{key}/edit", "POST")
    async def edit(request: Request) -> Response:
        body = await json_body(request)
        actor = _as_user(sim, body)
        issue = state.issue(request.path_params["key"])
        fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
        update = body.get("update") if isinstance(body.get("update"), dict) else {}
        events = state.edit_issue(actor, issue, fields or {}, update or {})
        base = sim.base(request)
        sim.emit(events, base)
        return JsonResponse(issue_json(state, issue, base))

    @route("/_sim/state", "GET")
    async def dump_state(request: Request) -> Response:
        """Every issue with its changelog and properties; `?brief=1`: without them (cheap
        enough to poll)."""
        base = sim.base(request)
        brief = request.query_params.get("brief") in ("1", "true")
        return JsonResponse(
            {
                "issues": [
                    issue_json(state, i, base)
                    if brief
                    else issue_json(state, i, base, expand=["changelog"], properties=["*all"])
                    for i in state.issues.values()
                ],
                "webhooks": [
                    {
                        "id": r.id,
                        "name": r.name,
                        "url": r.url,
                        "events": list(r.events),
                        "jql": r.jql,
                    }
                    for r in sim.registrations.values()
                ],
            }
        )

    @route("/_sim/webhook-target", "GET", "PUT", "DELETE")
    async def webhook_target(request: Request) -> Response:
        if request.method == "PUT":
            body = await json_body(request)
            url, secret, events = body.get("url"), body.get("secret"), body.get("events")
            if url is not None and not isinstance(url, str):
                raise _bad("url must be a string or null")
            if secret is not None and not isinstance(secret, str):
                raise _bad("secret must be a string or null")
            sim.set_webhook_target(url, secret, events if isinstance(events, list) else None)
        elif request.method == "DELETE":
            sim.set_webhook_target(None, None)
        reg = next((r for r in sim.registrations.values() if r.name == SIM_WEBHOOK_NAME), None)
        return JsonResponse(
            {
                "url": reg.url if reg else None,
                "id": reg.id if reg else None,
                "events": list(reg.events) if reg else [],
            }
        )

    @route("/_sim/workflow", "PUT", "DELETE")
    async def workflow(request: Request) -> Response:
        if request.method == "DELETE":
            state.workflows.reset()
            return JsonResponse({"workflow": "default"})
        try:
            project_id, type_id, installed = parse_workflow(await json_body(request), cat)
        except ValueError as exc:
            raise _bad(str(exc)) from None
        state.workflows.install(project_id, type_id, installed)
        return JsonResponse(
            {
                "project": project_id,
                "issuetype": type_id,
                "name": installed.name,
                "statuses": [cat.statuses.items[s].name for s in installed.status_ids],
                "status_ids": list(installed.status_ids),
                "transitions": [{"id": t.id, "name": t.name} for t in installed.transitions],
            }
        )

    @route("/_sim/create-requirements", "PUT")
    async def create_requirements(request: Request) -> Response:
        """`{"project": "OPS", "issuetype": "Incident", "fields": ["customfield_10102"]}`."""
        body = await json_body(request)
        fields = body.get("fields") or []
        if not isinstance(fields, list):
            raise _bad("fields must be a list of field ids")
        try:
            sim.require_on_create(
                str(body.get("project", "OPS")),
                str(body.get("issuetype", "")),
                [str(f) for f in fields],
            )
        except ValueError as exc:
            raise _bad(str(exc)) from None
        return JsonResponse(
            {
                "project": body.get("project", "OPS"),
                "issuetype": body.get("issuetype"),
                "fields": fields,
            }
        )

    @route("/_sim/ratelimit", "GET", "PUT", "DELETE")
    async def ratelimit(request: Request) -> Response:
        rl = sim.ratelimit
        if request.method == "PUT":
            body = await json_body(request)
            try:
                capacity = int(body.get("capacity", 10))
                fill_rate = int(body.get("fill_rate", 10))
                interval = int(body.get("interval_seconds", 1))
            except (TypeError, ValueError):
                raise _bad("capacity, fill_rate and interval_seconds must be integers") from None
            if capacity < 1 or fill_rate < 0 or interval < 1:
                raise _bad("capacity >= 1, fill_rate >= 0, interval_seconds >= 1")
            rl.limiter = TokenBucketLimiter(
                capacity=capacity, fill_rate=fill_rate, interval_seconds=interval
            )
            rl.exempt = {str(u) for u in body.get("exempt") or []}
        elif request.method == "DELETE":
            rl.limiter = None
            rl.exempt = set()
        return JsonResponse(rl.as_json())

    @route("/_sim/users", "POST")
    async def users(request: Request) -> Response:
        body = await json_body(request)
        name = body.get("name")
        if not isinstance(name, str) or not name or cat.users.get(name):
            raise _bad("name is required and must be new")
        user = sim.add_user(
            name,
            str(body.get("email") or f"{name}@example.com"),
            str(body.get("display_name") or name),
            str(body.get("password") or name),
        )
        if isinstance(body.get("token"), str):
            sim.tokens[body["token"]] = name
        if "permissions" in body:
            sim.permissions[name] = _permission_set(body["permissions"])
        groups = body.get("groups") or []
        if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
            raise _bad("groups must be a list of group names")
        for group in groups:
            cat.add_to_group(group, user)
        return JsonResponse(
            {"name": user.name, "key": user.key, "groups": cat.groups_of(user)}, status_code=201
        )

    @route("/_sim/users/{name}/token", "POST")
    async def user_token(request: Request) -> Response:
        """A personal access token ``{"token"}`` for an existing user."""
        body = await json_body(request)
        name, token = request.path_params["name"], body.get("token")
        if cat.users.get(name) is None or not isinstance(token, str) or not token:
            raise _bad("a known user name and a token are required")
        sim.tokens[token] = name
        return JsonResponse({"name": name}, status_code=201)

    def _groups_json() -> dict[str, Any]:
        return {"groups": {name: list(members) for name, members in cat.groups.items()}}

    @route("/_sim/groups", "GET")
    async def groups(request: Request) -> Response:
        """`GET`: every group and its members (login names), for membersOf()."""
        return JsonResponse(_groups_json())

    @route("/_sim/groups/{group}/users", "POST")
    @route("/_sim/groups/{group}/users/{name}", "DELETE")
    async def group_members(request: Request) -> Response:
        """`POST {"name": user}` adds a user to the group (created if new); `DELETE
        .../users/{name}` removes one. Answers all groups."""
        group = request.path_params["group"]
        if request.method == "POST":
            body = await json_body(request)
            user = cat.user(str(body.get("name") or ""))
            if user is None:
                raise _bad("name must name an existing user")
            cat.add_to_group(group, user)
            return JsonResponse(_groups_json(), status_code=201)
        existing = cat.group(group)
        name = request.path_params["name"]
        if existing is None or name not in cat.groups[existing]:
            raise JiraError(404, [f"User '{name}' is not a member of group '{group}'."])
        cat.groups[existing].remove(name)
        return JsonResponse(_groups_json())

    @route("/_sim/permissions", "GET", "PUT")
    async def permissions(request: Request) -> Response:
        """`PUT {"user", "permissions": [keys] | null}` (null = all); GET lists restrictions."""
        if request.method == "PUT":
            body = await json_body(request)
            name = body.get("user")
            if not isinstance(name, str) or cat.users.get(name) is None:
                raise _bad("user must name an existing user")
            if body.get("permissions") is None:
                sim.permissions.pop(name, None)
            else:
                sim.permissions[name] = _permission_set(body["permissions"])
        return JsonResponse(
            {
                "known": list(PERMISSIONS),
                "restricted": {n: sorted(p) for n, p in sim.permissions.items()},
            }
        )

    @route("/_sim/login-failures", "GET", "DELETE")
    async def login_failures(request: Request) -> Response:
        """The failed-login counters behind the CAPTCHA; DELETE = the CAPTCHA was solved."""
        if request.method == "DELETE":
            sim.login_failures.clear()
        return JsonResponse({"failures": dict(sim.login_failures)})

    return [
        *sim.common_routes(actor_key="user", subject_key="issue_key"),
        *route.routes,
    ]
