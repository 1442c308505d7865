"""Jira REST API v2 handlers (`/rest/api/2/...`, also reachable as `/rest/api/latest/...`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.jsonresp import JsonResponse, MalformedJson, read_json
from pdjira_simulators.jira import jql
from pdjira_simulators.jira.catalog import JiraUser, Project
from pdjira_simulators.jira.errors import JiraError, not_found
from pdjira_simulators.jira.gateway import USER_STATE_KEY
from pdjira_simulators.jira.runtime import PERMISSIONS, JiraSimulator
from pdjira_simulators.jira.search import search
from pdjira_simulators.jira.state import Issue
from pdjira_simulators.jira.views import (
    comment_json,
    component_json,
    field_json,
    field_meta_json,
    issue_json,
    issuetype_json,
    jira_ts,
    priority_json,
    project_item_meta,
    project_json,
    resolution_json,
    status_json,
    transition_json,
    user_json,
    version_json,
)

__all__ = ["acting_user", "json_body", "rest_routes"]

PREFIXES = ("/rest/api/2", "/rest/api/latest")
DEFAULT_MAX_RESULTS = 50
MAX_RESULTS_CAP = 1000  # jira.search.views.default.max


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await read_json(request)
    except MalformedJson as exc:
        raise JiraError(400, [f"Unexpected character in JSON body: {exc}"]) from None
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise JiraError(400, ["Can not deserialize instance out of START_ARRAY token"])
    return body


def acting_user(sim: JiraSimulator, request: Request) -> JiraUser:
    """The authenticated user: webhooks name them, so our own echoes are recognisable."""
    name = request.scope.get("state", {}).get(USER_STATE_KEY)
    user = sim.state.catalog.users.get(name) if name else None
    if user is None:
        raise JiraError(
            401, ["You are not authenticated. Authentication required to perform this operation."]
        )
    return user


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise JiraError(400, [f"The value '{raw}' is not valid for '{name}'."]) from None


def _list_param(request: Request, name: str) -> list[str]:
    return [v for v in request.query_params.getlist(name) if v]


def _project_full(sim: JiraSimulator, project: Project, base: str) -> dict[str, Any]:
    cat = sim.state.catalog
    return {
        "expand": "description,lead,url,projectKeys",
        **project_json(project, base),
        "description": "",
        "lead": user_json(cat.user_by_key(project.lead_key), base),
        "components": [
            component_json(cat, c, base) for c in sim.state.items.components_of(project.id)
        ],
        "issueTypes": [
            issuetype_json(cat.issue_types.items[t], base) for t in project.issue_type_ids
        ],
        "assigneeType": "UNASSIGNED",
        "versions": [version_json(v, base) for v in sim.state.items.versions_of(project.id)],
        "roles": {},
        "projectKeys": [project.key],
    }


def _paged(values: list[Any], start: int, max_results: int) -> dict[str, Any]:
    page = values[start : start + max_results]
    return {
        "maxResults": max_results,
        "startAt": start,
        "total": len(values),
        "isLast": start + len(page) >= len(values),
        "values": page,
    }


def rest_routes(sim: JiraSimulator) -> list[Route]:
    state, cat = sim.state, sim.state.catalog

    async def server_info(request: Request) -> Response:
        now = datetime.now(UTC)
        return JsonResponse(
            {
                "baseUrl": sim.base(request),
                "version": "10.3.4",
                "versionNumbers": [10, 3, 4],
                "deploymentType": "Server",
                "buildNumber": 10030004,
                "buildDate": "2025-03-04T00:00:00.000+0000",
                "databaseBuildNumber": 10030004,
                "serverTime": jira_ts(now),
                "scmInfo": "pdjira-simulator",
                "serverTitle": "pdjira Jira simulator",
            }
        )

    async def myself(request: Request) -> Response:
        user = acting_user(sim, request)
        base = sim.base(request)
        body = user_json(user, base)
        names = cat.groups_of(user)
        # Listed only with `expand=groups`, like Jira; the size is always there.
        expanded = "groups" in request.query_params.get("expand", "").split(",")
        items = [{"name": g, "self": f"{base}/rest/api/2/group?groupname={g}"} for g in names]
        body["groups"] = {"size": len(names), "items": items if expanded else []}
        body["applicationRoles"] = {"size": 1, "items": []}
        return JsonResponse(body)

    async def create_issue(request: Request) -> Response:
        actor = acting_user(sim, request)
        body = await json_body(request)
        fields = body.get("fields")
        if not isinstance(fields, dict):
            raise JiraError(400, [], {"summary": "You must specify a summary of the issue."})
        properties = body.get("properties") or []
        if not isinstance(properties, list):
            raise JiraError(400, [], {"properties": "properties must be an array"})
        _may_create(actor, fields)
        issue, events = state.create_issue(actor, fields, properties)
        if isinstance(body.get("update"), dict) and body["update"]:
            events += state.edit_issue(actor, issue, {}, body["update"])
        base = sim.base(request)
        sim.emit(events, base)
        return JsonResponse(
            {"id": issue.id, "key": issue.key, "self": f"{base}/rest/api/2/issue/{issue.id}"},
            status_code=201,
        )

    def _may_create(actor: JiraUser, fields: dict[str, Any]) -> None:
        ref = fields.get("project")
        key = (ref.get("key") or ref.get("id")) if isinstance(ref, dict) else None
        project = cat.project(str(key)) if key else None
        if project is not None and not (
            sim.has_permission(actor, "BROWSE_PROJECTS", project.id)
            and sim.has_permission(actor, "CREATE_ISSUES", project.id)
        ):
            raise JiraError(400, ["You do not have permission to create issues in this project."])

    def _issue(request: Request) -> Issue:
        issue = state.issue(request.path_params["key"])
        name = request.scope.get("state", {}).get(USER_STATE_KEY)
        user = cat.users.get(name) if name else None
        if user is not None and not sim.has_permission(user, "BROWSE_PROJECTS", issue.project_id):
            raise not_found()  # Jira hides issues the caller may not browse
        return issue

    def _require(request: Request, permission: str, message: str, issue: Issue) -> JiraUser:
        """The documented 403s (delete, properties, remote links)."""
        user = acting_user(sim, request)
        if not sim.has_permission(user, permission, issue.project_id):
            raise JiraError(403, [message])
        return user

    async def my_permissions(request: Request) -> Response:
        user = acting_user(sim, request)
        q = request.query_params
        scope: str | None = None
        if q.get("issueKey") or q.get("issueId"):
            scope = _issue_by_ref(str(q.get("issueKey") or q.get("issueId"))).project_id
        project_ref = q.get("projectKey") or q.get("projectId")
        if project_ref:
            scoped = cat.project(project_ref)
            if scoped is None:
                raise not_found(f"No project could be found with key '{project_ref}'.")
            scope = scoped.id
        return JsonResponse(
            {
                "permissions": {
                    key: {
                        "id": str(i),
                        "key": key,
                        "name": name,
                        "type": "PROJECT",
                        "description": f"Ability to {name.lower()}.",
                        "havePermission": sim.has_permission(user, key, scope),
                    }
                    for i, (key, name) in enumerate(PERMISSIONS.items(), start=10)
                }
            }
        )

    def _issue_by_ref(ref: str) -> Issue:
        return state.issue(ref)

    async def get_issue(request: Request) -> Response:
        issue = _issue(request)
        return JsonResponse(
            issue_json(
                state,
                issue,
                sim.base(request),
                fields=_list_param(request, "fields") or None,
                expand=_list_param(request, "expand"),
                properties=_list_param(request, "properties"),
            )
        )

    async def edit_issue(request: Request) -> Response:
        actor = acting_user(sim, request)
        issue = _issue(request)
        body = await json_body(request)
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise JiraError(400, ["fields and update must be objects"])
        if not sim.has_permission(actor, "EDIT_ISSUES", issue.project_id):
            # Without Edit Issues no field is on the caller's edit screen.
            raise JiraError(
                400,
                [],
                {
                    f: f"Field '{f}' cannot be set. "
                    "It is not on the appropriate screen, or unknown."
                    for f in [*fields, *update]
                },
            )
        events = state.edit_issue(actor, issue, fields, update)
        sim.emit(events, sim.base(request))
        return Response(status_code=204)

    async def delete_issue(request: Request) -> Response:
        issue = _issue(request)
        actor = _require(
            request,
            "DELETE_ISSUES",
            "You do not have permission to delete issues in this project.",
            issue,
        )
        events = state.delete_issue(actor, issue)
        sim.emit(events, sim.base(request), issue=issue)
        return Response(status_code=204)

    async def assign(request: Request) -> Response:
        actor = acting_user(sim, request)
        issue = _issue(request)
        body = await json_body(request)
        if not sim.has_permission(actor, "ASSIGN_ISSUES", issue.project_id):
            # The document: 401 "if the calling user does not have permission to assign".
            raise JiraError(401, [f"User '{actor.name}' cannot assign issues in this project."])
        target = None if body.get("name") in (None, "-1") else {"name": body.get("name")}
        sim.emit(state.edit_issue(actor, issue, {"assignee": target}), sim.base(request))
        return Response(status_code=204)

    async def get_transitions(request: Request) -> Response:
        issue = _issue(request)
        base = sim.base(request)
        with_fields = "transitions.fields" in ",".join(_list_param(request, "expand"))
        wanted = request.query_params.get("transitionId")
        transitions = [
            transition_json(state, t, base, with_fields=with_fields)
            for t in state.available_transitions(issue)
            if wanted is None or t.id == wanted
        ]
        return JsonResponse({"expand": "transitions", "transitions": transitions})

    async def do_transition(request: Request) -> Response:
        actor = acting_user(sim, request)
        issue = _issue(request)
        body = await json_body(request)
        transition = body.get("transition")
        raw_id = transition.get("id") if isinstance(transition, dict) else None
        if raw_id is None:
            raise JiraError(400, ["Missing 'transition' identifier"])
        if isinstance(raw_id, bool) or not str(raw_id).strip().isdigit():
            raise JiraError(400, ["'transition' identifier must be an integer"])
        fields = body.get("fields") or {}
        update = body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise JiraError(400, ["fields and update must be objects"])
        if not sim.has_permission(actor, "TRANSITION_ISSUES", issue.project_id):
            # The document: 400 "if ... the user does not have permission to transition".
            raise JiraError(400, ["You do not have permission to transition this issue."])
        events = state.transition(actor, issue, str(int(str(raw_id))), fields, update)
        sim.emit(events, sim.base(request))
        return Response(status_code=204)

    async def list_comments(request: Request) -> Response:
        issue = _issue(request)
        base = sim.base(request)
        start = _int_param(request, "startAt", 0)
        max_results = _int_param(request, "maxResults", 5000)
        page = issue.comments[start : start + max_results]
        return JsonResponse(
            {
                "startAt": start,
                "maxResults": max_results,
                "total": len(issue.comments),
                "comments": [comment_json(cat, issue, c, base) for c in page],
            }
        )

    async def add_comment(request: Request) -> Response:
        actor = acting_user(sim, request)
        issue = _issue(request)
        body = await json_body(request)
        text = body.get("body")
        if not isinstance(text, str):
            raise JiraError(400, [], {"comment": "Comment body can not be empty!"})
        if not sim.has_permission(actor, "ADD_COMMENTS", issue.project_id):
            raise JiraError(400, ["You do not have the permission to comment on this issue."])
        visibility = _visibility(body, actor, issue)
        props = body.get("properties") if isinstance(body.get("properties"), list) else []
        comment, events = state.add_comment(actor, issue, text, visibility, props or [])
        base = sim.base(request)
        sim.emit(events, base)
        return JsonResponse(comment_json(cat, issue, comment, base), status_code=201)

    def _visibility(body: dict[str, Any], actor: JiraUser, issue: Issue) -> dict[str, str] | None:
        errors: dict[str, str] = {}
        visibility = state.check_visibility(
            body.get("visibility"), errors, author=actor, project_id=issue.project_id
        )
        if errors:
            raise JiraError(400, [], errors)
        return visibility

    async def get_comment(request: Request) -> Response:
        issue = _issue(request)
        comment = state.comment(issue, request.path_params["cid"])
        return JsonResponse(comment_json(cat, issue, comment, sim.base(request)))

    async def update_comment(request: Request) -> Response:
        actor = acting_user(sim, request)
        issue = _issue(request)
        comment = state.comment(issue, request.path_params["cid"])
        body = await json_body(request)
        if not isinstance(body.get("body"), str):
            raise JiraError(400, [], {"comment": "Comment body can not be empty!"})
        base = sim.base(request)
        if "visibility" in body:
            comment.visibility = _visibility(body, actor, issue)
        sim.emit(state.edit_comment(actor, issue, comment, body["body"]), base)
        return JsonResponse(comment_json(cat, issue, comment, base))

    async def delete_comment(request: Request) -> Response:
        actor = acting_user(sim, request)
        issue = _issue(request)
        comment = state.comment(issue, request.path_params["cid"])
        sim.emit(state.delete_comment(actor, issue, comment), sim.base(request))
        return Response(status_code=204)

    async def remote_links(request: Request) -> Response:
        issue = _issue(request)
        base = sim.base(request)
        if request.method in ("POST", "DELETE"):
            _require(request, "LINK_ISSUES", "You do not have permission to link issues.", issue)
        if request.method == "POST":
            link, created = state.upsert_remote_link(issue, await json_body(request))
            return JsonResponse(
                {
                    "id": link.id,
                    "self": f"{base}/rest/api/2/issue/{issue.key}/remotelink/{link.id}",
                },
                status_code=201 if created else 200,
            )
        if request.method == "DELETE":
            global_id = request.query_params.get("globalId")
            issue.remote_links = [lk for lk in issue.remote_links if lk.global_id != global_id]
            return Response(status_code=204)
        global_id = request.query_params.get("globalId")
        links = [lk for lk in issue.remote_links if global_id is None or lk.global_id == global_id]
        bodies = [_link_json(issue, lk, base) for lk in links]
        if global_id is not None:
            if not bodies:
                raise not_found("No remote link with the given globalId")
            return JsonResponse(bodies[0])
        return JsonResponse(bodies)

    async def remote_link(request: Request) -> Response:
        issue = _issue(request)
        link_id = request.path_params["lid"]
        link = next((lk for lk in issue.remote_links if str(lk.id) == link_id), None)
        if link is None:
            raise not_found("No remote link with the given id")
        if request.method == "DELETE":
            issue.remote_links.remove(link)
            return Response(status_code=204)
        return JsonResponse(_link_json(issue, link, sim.base(request)))

    async def property_keys(request: Request) -> Response:
        issue = _issue(request)
        base = sim.base(request)
        return JsonResponse(
            {
                "keys": [
                    {"self": f"{base}/rest/api/2/issue/{issue.id}/properties/{k}", "key": k}
                    for k in issue.properties
                ]
            }
        )

    async def issue_property(request: Request) -> Response:
        issue = _issue(request)
        prop = request.path_params["prop"]
        if request.method in ("PUT", "DELETE"):
            _require(
                request, "EDIT_ISSUES", "You do not have permission to edit this issue.", issue
            )
        if request.method == "PUT":
            if len(prop) > 255:
                raise JiraError(400, ["The property key can not be longer than 255 characters."])
            try:
                value = await read_json(request)
            except MalformedJson:
                raise JiraError(400, ["The property value is not valid JSON."]) from None
            existed = prop in issue.properties
            issue.properties[prop] = value
            return Response(status_code=200 if existed else 201)
        if prop not in issue.properties:
            raise not_found(f"The property with key '{prop}' does not exist.")
        if request.method == "DELETE":
            del issue.properties[prop]
            return Response(status_code=204)
        return JsonResponse({"key": prop, "value": issue.properties[prop]})

    async def do_search(request: Request) -> Response:
        if request.method == "POST":
            body = await json_body(request)
            text = body.get("jql") or ""
            start = int(body.get("startAt") or 0)
            max_results = int(body.get("maxResults") or DEFAULT_MAX_RESULTS)
            fields = body.get("fields")
            expand = body.get("expand") or []
        else:
            text = request.query_params.get("jql") or ""
            start = _int_param(request, "startAt", 0)
            max_results = _int_param(request, "maxResults", DEFAULT_MAX_RESULTS)
            fields = _list_param(request, "fields") or None
            expand = _list_param(request, "expand")
        if isinstance(expand, str):
            expand = [expand]
        max_results = max(0, min(max_results, MAX_RESULTS_CAP))
        searcher = acting_user(sim, request)
        try:
            found = search(str(text), state, searcher)
        except jql.JqlError as exc:
            raise JiraError(400, [str(exc)]) from None
        # Only issues the caller may browse are found.
        found = [i for i in found if sim.has_permission(searcher, "BROWSE_PROJECTS", i.project_id)]
        base = sim.base(request)
        page = found[start : start + max_results]
        return JsonResponse(
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": max_results,
                "total": len(found),
                "issues": [
                    issue_json(state, i, base, fields=fields or ["*navigable"], expand=expand)
                    for i in page
                ],
            }
        )

    async def priorities(request: Request) -> Response:
        base = sim.base(request)
        return JsonResponse([priority_json(p, base) for p in cat.priorities])

    async def statuses(request: Request) -> Response:
        base = sim.base(request)
        return JsonResponse([status_json(s, base) for s in cat.statuses])

    async def status(request: Request) -> Response:
        found = cat.statuses.get(request.path_params["ref"])
        if found is None:
            raise not_found(f"The status with id '{request.path_params['ref']}' does not exist")
        return JsonResponse(status_json(found, sim.base(request)))

    async def resolutions(request: Request) -> Response:
        base = sim.base(request)
        return JsonResponse([resolution_json(r, base) for r in cat.resolutions])

    async def issuetypes(request: Request) -> Response:
        base = sim.base(request)
        return JsonResponse([issuetype_json(t, base) for t in cat.issue_types])

    async def fields(request: Request) -> Response:
        return JsonResponse([field_json(f) for f in cat.fields.values()])

    def _project(ref: str) -> Project:
        project = cat.project(ref)
        if project is None:
            raise not_found(f"No project could be found with key '{ref}'.")
        return project

    async def projects(request: Request) -> Response:
        base = sim.base(request)
        return JsonResponse([project_json(p, base) for p in cat.projects.values()])

    async def project(request: Request) -> Response:
        found = _project(request.path_params["ref"])
        return JsonResponse(_project_full(sim, found, sim.base(request)))

    async def project_statuses(request: Request) -> Response:
        found = _project(request.path_params["ref"])
        base = sim.base(request)
        result = []
        for type_id in found.issue_type_ids:
            workflow = state.workflows.for_issue(found.id, type_id)
            result.append(
                {
                    **issuetype_json(cat.issue_types.items[type_id], base),
                    "statuses": [
                        status_json(cat.statuses.items[s], base) for s in workflow.status_ids
                    ],
                }
            )
        return JsonResponse(result)

    async def createmeta_types(request: Request) -> Response:
        found = _project(request.path_params["ref"])
        base = sim.base(request)
        values = [issuetype_json(cat.issue_types.items[t], base) for t in found.issue_type_ids]
        return JsonResponse(
            _paged(
                values,
                _int_param(request, "startAt", 0),
                _int_param(request, "maxResults", DEFAULT_MAX_RESULTS),
            )
        )

    async def createmeta_fields(request: Request) -> Response:
        found = _project(request.path_params["ref"])
        issue_type = cat.issue_types.get(request.path_params["type"])
        if issue_type is None or issue_type.id not in found.issue_type_ids:
            raise JiraError(
                404, [f"Issue type with id '{request.path_params['type']}' does not exist."]
            )
        base = sim.base(request)
        required = {
            "summary",
            "issuetype",
            "project",
            "reporter",
            *state.required_on_create(found, issue_type.id),
        }
        screen = [
            "summary",
            "issuetype",
            "project",
            "reporter",
            "description",
            "priority",
            "labels",
            "assignee",
            "components",
            "fixVersions",
            "versions",
            "duedate",
            *[f for f in cat.fields if f.startswith("customfield_")],
        ]
        values = [
            project_item_meta(state, found.id, field_meta_json(cat, f, f in required, base), base)
            for f in screen
        ]
        return JsonResponse(
            _paged(
                values,
                _int_param(request, "startAt", 0),
                _int_param(request, "maxResults", DEFAULT_MAX_RESULTS),
            )
        )

    async def user_search(request: Request) -> Response:
        query = (request.query_params.get("username") or "").lower()
        base = sim.base(request)
        start = _int_param(request, "startAt", 0)
        max_results = _int_param(request, "maxResults", DEFAULT_MAX_RESULTS)
        found = [
            u
            for u in cat.users.values()
            if query == "."
            or query in u.name.lower()
            or query in u.email.lower()
            or query in u.display_name.lower()
        ]
        return JsonResponse([user_json(u, base) for u in found[start : start + max_results]])

    async def user(request: Request) -> Response:
        ref = request.query_params.get("username") or request.query_params.get("key") or ""
        found = cat.user(ref)
        if found is None:
            raise not_found(f"The user named '{ref}' does not exist")
        return JsonResponse(user_json(found, sim.base(request)))

    routes = [
        ("/serverInfo", server_info, ["GET"]),
        ("/myself", myself, ["GET"]),
        ("/issue", create_issue, ["POST"]),
        ("/issue/createmeta/{ref}/issuetypes", createmeta_types, ["GET"]),
        ("/issue/createmeta/{ref}/issuetypes/{type}", createmeta_fields, ["GET"]),
        ("/issue/{key}", get_issue, ["GET"]),
        ("/issue/{key}", edit_issue, ["PUT"]),
        ("/issue/{key}", delete_issue, ["DELETE"]),
        ("/issue/{key}/assignee", assign, ["PUT"]),
        ("/issue/{key}/transitions", get_transitions, ["GET"]),
        ("/issue/{key}/transitions", do_transition, ["POST"]),
        ("/issue/{key}/comment", list_comments, ["GET"]),
        ("/issue/{key}/comment", add_comment, ["POST"]),
        ("/issue/{key}/comment/{cid}", get_comment, ["GET"]),
        ("/issue/{key}/comment/{cid}", update_comment, ["PUT"]),
        ("/issue/{key}/comment/{cid}", delete_comment, ["DELETE"]),
        ("/issue/{key}/remotelink", remote_links, ["GET", "POST", "DELETE"]),
        ("/issue/{key}/remotelink/{lid}", remote_link, ["GET", "DELETE"]),
        ("/issue/{key}/properties", property_keys, ["GET"]),
        ("/issue/{key}/properties/{prop}", issue_property, ["GET", "PUT", "DELETE"]),
        ("/search", do_search, ["GET", "POST"]),
        ("/mypermissions", my_permissions, ["GET"]),
        ("/priority", priorities, ["GET"]),
        ("/status", statuses, ["GET"]),
        ("/status/{ref}", status, ["GET"]),
        ("/resolution", resolutions, ["GET"]),
        ("/issuetype", issuetypes, ["GET"]),
        ("/field", fields, ["GET"]),
        ("/project", projects, ["GET"]),
        ("/project/{ref}", project, ["GET"]),
        ("/project/{ref}/statuses", project_statuses, ["GET"]),
        ("/user/search", user_search, ["GET"]),
        ("/user", user, ["GET"]),
    ]
    return [
        Route(prefix + path, handler, methods=methods)
        for prefix in PREFIXES
        for path, handler, methods in routes
    ]


def _link_json(issue: Issue, link: Any, base: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": link.id,
        "self": f"{base}/rest/api/2/issue/{issue.key}/remotelink/{link.id}",
        "application": link.application,
        "object": link.object,
    }
    if link.global_id is not None:
        body["globalId"] = link.global_id
    if link.relationship is not None:
        body["relationship"] = link.relationship
    return body
