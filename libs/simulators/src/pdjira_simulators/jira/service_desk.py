"""Project roles (`/rest/api/2/project/{key}/role`), Jira Service Management's service desks and
request types (`/rest/servicedeskapi/...`, paged `values` as JSM answers), and the `/_sim/...`
admin endpoints that change a project's permission scheme or a role's actors, so tests can take
a permission or an agent away and give it back."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.jsonresp import JsonResponse
from pdjira_simulators.jira.access import PERMISSIONS, Actor, Grant, ProjectRole, ServiceDesk
from pdjira_simulators.jira.catalog import Project
from pdjira_simulators.jira.errors import JiraError, not_found
from pdjira_simulators.jira.rest import acting_user, json_body
from pdjira_simulators.jira.runtime import JiraSimulator

__all__ = ["service_desk_routes"]

PREFIXES = ("/rest/api/2", "/rest/api/latest")
SD = "/rest/servicedeskapi"
_HOLDERS = ("anyone", "role", "group", "user")


def _page(values: list[Any], request: Request, base: str, path: str) -> dict[str, Any]:
    """JSM's paged answer: ``size``, ``start``, ``limit``, ``isLastPage``, ``values``."""
    try:
        start = max(int(request.query_params.get("start") or 0), 0)
        limit = min(max(int(request.query_params.get("limit") or 50), 1), 100)
    except ValueError:
        raise JiraError(400, ["start and limit must be whole numbers"]) from None
    page = values[start : start + limit]
    last = start + len(page) >= len(values)
    links: dict[str, Any] = {"base": base, "context": "", "self": f"{base}{path}"}
    if not last:
        links["next"] = f"{base}{path}?start={start + limit}&limit={limit}"
    return {
        "_expands": [],
        "size": len(page),
        "start": start,
        "limit": limit,
        "isLastPage": last,
        "_links": links,
        "values": page,
    }


def service_desk_routes(sim: JiraSimulator) -> list[Route]:
    cat, access = sim.state.catalog, sim.access

    def visible_project(request: Request, ref: str) -> Project:
        user = acting_user(sim, request)
        project = cat.project(ref)
        if project is None or not sim.has_permission(user, "BROWSE_PROJECTS", project.id):
            raise not_found(f"No project could be found with key '{ref}'.")
        return project

    def role_json(project: Project, role: ProjectRole, base: str) -> dict[str, Any]:
        actors = []
        for i, actor in enumerate(access.actors_of(project.id, role.id)):
            user = cat.user(actor.name) if actor.type == "user" else None
            actors.append(
                {
                    "id": 10000 + i,
                    "displayName": user.display_name if user else actor.name,
                    "type": "atlassian-user-role-actor"
                    if actor.type == "user"
                    else "atlassian-group-role-actor",
                    "name": actor.name,
                }
            )
        return {
            "self": f"{base}/rest/api/2/project/{project.key}/role/{role.id}",
            "name": role.name,
            "id": role.id,
            "description": role.description,
            "actors": actors,
        }

    async def project_roles(request: Request) -> Response:
        project = visible_project(request, request.path_params["ref"])
        base = sim.base(request)
        return JsonResponse(
            {
                r.name: f"{base}/rest/api/2/project/{project.key}/role/{r.id}"
                for r in access.roles.values()
            }
        )

    async def project_role(request: Request) -> Response:
        project = visible_project(request, request.path_params["ref"])
        raw = request.path_params["id"]
        role = access.roles.get(int(raw)) if raw.isdigit() else None
        if role is None:
            raise not_found("Can not retrieve a role actor for a null project role.")
        return JsonResponse(role_json(project, role, sim.base(request)))

    def desk_json(desk: ServiceDesk, base: str) -> dict[str, Any]:
        project = cat.projects[desk.project_id]
        return {
            "id": desk.id,
            "projectId": project.id,
            "projectName": project.name,
            "projectKey": project.key,
            "_links": {"self": f"{base}{SD}/servicedesk/{desk.id}"},
        }

    def visible_desk(request: Request) -> ServiceDesk:
        user = acting_user(sim, request)
        ref = request.path_params["id"]
        desk = access.service_desks.get(ref) or next(
            (
                d
                for d in access.service_desks.values()
                if cat.projects[d.project_id].key == ref.upper()
            ),
            None,
        )
        if desk is None or not sim.has_permission(user, "BROWSE_PROJECTS", desk.project_id):
            raise JiraError(404, [f"The service desk with id '{ref}' does not exist."])
        return desk

    async def service_desks(request: Request) -> Response:
        user = acting_user(sim, request)
        base = sim.base(request)
        desks = [
            desk_json(d, base)
            for d in access.service_desks.values()
            if sim.has_permission(user, "BROWSE_PROJECTS", d.project_id)
        ]
        return JsonResponse(_page(desks, request, base, f"{SD}/servicedesk"))

    async def service_desk(request: Request) -> Response:
        return JsonResponse(desk_json(visible_desk(request), sim.base(request)))

    async def request_types(request: Request) -> Response:
        desk = visible_desk(request)
        base = sim.base(request)
        path = f"{SD}/servicedesk/{desk.id}/requesttype"
        values = [
            {
                "_expands": [],
                "id": t.id,
                "_links": {"self": f"{base}{path}/{t.id}"},
                "name": t.name,
                "description": t.description,
                "helpText": "",
                "issueTypeId": t.issue_type_id,
                "serviceDeskId": desk.id,
                "groupIds": [],
            }
            for t in desk.request_types
        ]
        return JsonResponse(_page(values, request, base, path))

    # ----- /_sim admin: break and restore --------------------------------------------------

    def admin_project(ref: str) -> Project:
        project = cat.project(ref)
        if project is None:
            raise JiraError(404, [f"No project could be found with key '{ref}'."])
        return project

    def scheme_json(project: Project) -> dict[str, Any]:
        scheme = access.schemes.get(project.id, {})
        return {
            "project": project.key,
            "permissions": {p: [g.as_json() for g in scheme.get(p, [])] for p in PERMISSIONS},
        }

    def grant_of(raw: object) -> Grant:
        if not isinstance(raw, dict) or raw.get("type") not in _HOLDERS:
            raise JiraError(400, [f"a grant is {{'type': one of {_HOLDERS}, 'value': ...}}"])
        value = raw.get("value")
        if raw["type"] != "anyone" and not isinstance(value, str):
            raise JiraError(400, ["a role, group or user grant needs a value (its name)"])
        if raw["type"] == "role" and access.role(str(value)) is None:
            raise JiraError(400, [f"unknown role {value!r}"])
        return Grant(raw["type"], value if isinstance(value, str) else None)

    async def permission_scheme(request: Request) -> Response:
        """`GET`: the project's grants; `DELETE`: back to the project's default scheme."""
        project = admin_project(request.path_params["ref"])
        if request.method == "DELETE":
            access.reset_scheme(project.id)
        return JsonResponse(scheme_json(project))

    async def permission(request: Request) -> Response:
        """`PUT {"grants": [{"type": "role", "value": "Service Desk Team"}, ...]}` sets who
        holds the permission; `DELETE` revokes it from everyone."""
        project = admin_project(request.path_params["ref"])
        key = request.path_params["permission"].upper()
        if key not in PERMISSIONS:
            raise JiraError(400, [f"unknown permission {key}; known: {', '.join(PERMISSIONS)}"])
        scheme = access.schemes.setdefault(project.id, {})
        if request.method == "DELETE":
            scheme[key] = []
        else:
            grants = (await json_body(request)).get("grants")
            if not isinstance(grants, list):
                raise JiraError(400, ["grants must be a list"])
            scheme[key] = [grant_of(g) for g in grants]
        return JsonResponse(scheme_json(project))

    def actors_json(project: Project, role: ProjectRole) -> dict[str, Any]:
        return {
            "project": project.key,
            "role": role.name,
            "actors": [
                {"type": a.type, "name": a.name} for a in access.actors_of(project.id, role.id)
            ],
        }

    def admin_role(ref: str) -> ProjectRole:
        role = access.role(ref)
        if role is None:
            known = ", ".join(r.name for r in access.roles.values())
            raise JiraError(404, [f"unknown role {ref!r}; roles: {known}"])
        return role

    async def role_actors(request: Request) -> Response:
        """`GET`: the actors; `POST {"user": name}` or `{"group": name}` adds one; `DELETE
        ?user=name` or `?group=name` removes it."""
        project = admin_project(request.path_params["ref"])
        role = admin_role(request.path_params["role"])
        actors = access.actors_of(project.id, role.id)
        if request.method == "GET":
            return JsonResponse(actors_json(project, role))
        source: dict[str, Any] = (
            await json_body(request) if request.method == "POST" else dict(request.query_params)
        )
        kind = "user" if source.get("user") else "group" if source.get("group") else None
        if kind is None:
            raise JiraError(400, ["say which actor: user=<login> or group=<name>"])
        actor = Actor(kind, str(source[kind]))  # type: ignore[arg-type]
        if request.method == "POST":
            if kind == "user" and cat.user(actor.name) is None:
                raise JiraError(400, [f"unknown user {actor.name!r}"])
            if actor not in actors:
                actors.append(actor)
        elif actor in actors:
            actors.remove(actor)
        else:
            raise JiraError(404, [f"{kind} {actor.name!r} is not in role {role.name}"])
        return JsonResponse(actors_json(project, role))

    routes = [
        Route(prefix + "/project/{ref}/role", project_roles, methods=["GET"]) for prefix in PREFIXES
    ]
    routes += [
        Route(prefix + "/project/{ref}/role/{id}", project_role, methods=["GET"])
        for prefix in PREFIXES
    ]
    return [
        *routes,
        Route(f"{SD}/servicedesk", service_desks, methods=["GET"]),
        Route(f"{SD}/servicedesk/{{id}}", service_desk, methods=["GET"]),
        Route(f"{SD}/servicedesk/{{id}}/requesttype", request_types, methods=["GET"]),
        Route("/_sim/projects/{ref}/permissions", permission_scheme, methods=["GET", "DELETE"]),
        Route(
            "/_sim/projects/{ref}/permissions/{permission}", permission, methods=["PUT", "DELETE"]
        ),
        Route(
            "/_sim/projects/{ref}/roles/{role}/actors",
            role_actors,
            methods=["GET", "POST", "DELETE"],
        ),
    ]
