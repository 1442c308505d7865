"""More of Jira's REST API v2 that users' rules may touch: components and versions, bulk
create, editmeta, watchers and issue links."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.jsonresp import JsonResponse, MalformedJson, read_json
from pdjira_simulators.jira.catalog import JiraUser, Project
from pdjira_simulators.jira.errors import JiraError, not_found
from pdjira_simulators.jira.gateway import USER_STATE_KEY
from pdjira_simulators.jira.rest import PREFIXES, acting_user, json_body
from pdjira_simulators.jira.runtime import JiraSimulator
from pdjira_simulators.jira.state import EDITABLE, Issue, IssueEvent
from pdjira_simulators.jira.views import (
    component_json,
    field_meta_json,
    issue_link_json,
    link_type_json,
    project_item_meta,
    user_json,
    version_json,
)

__all__ = ["item_routes"]

ADMINS = "jira-administrators"
NO_PERMISSION = "The user {} does not have permission to complete this operation."


def _date(raw: Any, field_id: str, errors: dict[str, str]) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw)[:10])
    except ValueError:
        errors[field_id] = f"Error parsing date string: {raw}"
        return None


def item_routes(sim: JiraSimulator) -> list[Route]:
    state, cat = sim.state, sim.state.catalog
    items = state.items

    def _viewer(request: Request) -> JiraUser | None:
        name = request.scope.get("state", {}).get(USER_STATE_KEY)
        return cat.users.get(name) if name else None

    def _project(request: Request, ref: str) -> Project:
        project = cat.project(ref)
        viewer = _viewer(request)
        if project is None or (
            viewer is not None and not sim.has_permission(viewer, "BROWSE_PROJECTS", project.id)
        ):
            raise not_found(f"No project could be found with key '{ref}'.")
        return project

    def _issue(request: Request, ref: str | None = None) -> Issue:
        issue = state.issue(ref if ref is not None else request.path_params["key"])
        viewer = _viewer(request)
        if viewer is not None and not sim.has_permission(
            viewer, "BROWSE_PROJECTS", issue.project_id
        ):
            raise not_found()
        return issue

    def _admin(request: Request) -> JiraUser:
        user = acting_user(sim, request)
        if ADMINS not in cat.groups_of(user):
            raise JiraError(403, [NO_PERMISSION.format(user.name)])
        return user

    # ----- components and versions --------------------------------------------------------

    async def project_components(request: Request) -> Response:
        project = _project(request, request.path_params["ref"])
        base = sim.base(request)
        return JsonResponse([component_json(cat, c, base) for c in items.components_of(project.id)])

    async def project_versions(request: Request) -> Response:
        project = _project(request, request.path_params["ref"])
        base = sim.base(request)
        return JsonResponse([version_json(v, base) for v in items.versions_of(project.id)])

    async def create_component(request: Request) -> Response:
        body = await json_body(request)
        _admin(request)
        project = _project(request, str(body.get("project") or body.get("projectId") or ""))
        name = body.get("name")
        errors: dict[str, str] = {}
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "The component name specified is invalid - cannot be an empty string."
        elif any(c.name.lower() == name.lower() for c in items.components_of(project.id)):
            errors["name"] = f"A component with the name {name} already exists in this project."
        lead = body.get("leadUserName")
        lead_user = cat.user(str(lead)) if lead else None
        if lead and lead_user is None:
            errors["leadUserName"] = f"The user {lead} does not exist."
        assignee_type = body.get("assigneeType") or "PROJECT_DEFAULT"
        if assignee_type not in ("PROJECT_DEFAULT", "COMPONENT_LEAD", "PROJECT_LEAD", "UNASSIGNED"):
            errors["assigneeType"] = f"The assignee type {assignee_type} is not valid."
        if errors:
            raise JiraError(400, [], errors)
        assert isinstance(name, str)
        component = items.add_component(
            project.id,
            name.strip(),
            description=str(body.get("description") or ""),
            lead_key=lead_user.key if lead_user else None,
            assignee_type=str(assignee_type),
        )
        return JsonResponse(component_json(cat, component, sim.base(request)), status_code=201)

    async def create_version(request: Request) -> Response:
        body = await json_body(request)
        _admin(request)
        ref = body.get("project") or body.get("projectId")
        if ref in (None, ""):
            raise JiraError(400, [], {"project": "Project must be specified to create a version."})
        project = _project(request, str(ref))
        name = body.get("name")
        errors: dict[str, str] = {}
        if not isinstance(name, str) or not name.strip():
            errors["name"] = "You must specify a valid version name"
        elif any(v.name == name for v in items.versions_of(project.id)):
            errors["name"] = "A version with this name already exists in this project."
        release = _date(body.get("releaseDate"), "releaseDate", errors)
        start = _date(body.get("startDate"), "startDate", errors)
        if release and start and start > release:
            errors["startDate"] = "The start date must be before the release date."
        if errors:
            raise JiraError(400, [], errors)
        assert isinstance(name, str)
        version = items.add_version(
            project.id,
            name,
            description=str(body.get("description") or ""),
            released=bool(body.get("released", False)),
            archived=bool(body.get("archived", False)),
            release_date=release,
            start_date=start,
        )
        return JsonResponse(version_json(version, sim.base(request)), status_code=201)

    # ----- bulk create --------------------------------------------------------------------

    async def bulk_create(request: Request) -> Response:
        actor = acting_user(sim, request)
        body = await json_body(request)
        updates = body.get("issueUpdates")
        if not isinstance(updates, list):
            raise JiraError(400, ["issueUpdates must be an array of issues to create."])
        base = sim.base(request)
        created: list[dict[str, str]] = []
        failed: list[dict[str, Any]] = []
        for number, one in enumerate(updates):
            try:
                created.append(_create_one(actor, one, base))
            except JiraError as exc:
                failed.append(
                    {
                        "status": exc.status,
                        "elementErrors": {
                            "errorMessages": list(exc.messages),
                            "errors": dict(exc.errors),
                        },
                        "failedElementNumber": number,
                    }
                )
        # Jira answers 201 when at least one issue was created, 400 when none was.
        status = 201 if created or not failed else 400
        return JsonResponse({"issues": created, "errors": failed}, status_code=status)

    def _create_one(actor: JiraUser, one: Any, base: str) -> dict[str, str]:
        fields = one.get("fields") if isinstance(one, dict) else None
        if not isinstance(fields, dict):
            raise JiraError(400, [], {"summary": "You must specify a summary of the issue."})
        ref = fields.get("project")
        key = (ref.get("key") or ref.get("id")) if isinstance(ref, dict) else None
        project = cat.project(str(key)) if key else None
        if project is not None and not (
            sim.has_permission(actor, "BROWSE_PROJECTS", project.id)
            and sim.has_permission(actor, "CREATE_ISSUES", project.id)
        ):
            raise JiraError(400, ["You do not have permission to create issues in this project."])
        issue, events = state.create_issue(actor, fields)
        update = one.get("update") if isinstance(one, dict) else None
        if isinstance(update, dict) and update:
            events += state.edit_issue(actor, issue, {}, update)
        sim.emit(events, base)
        return {"id": issue.id, "key": issue.key, "self": f"{base}/rest/api/2/issue/{issue.id}"}

    # ----- editmeta -----------------------------------------------------------------------

    async def editmeta(request: Request) -> Response:
        issue = _issue(request)
        user = acting_user(sim, request)
        if not sim.has_permission(user, "EDIT_ISSUES", issue.project_id):
            return JsonResponse({"fields": {}})  # nothing is on the caller's edit screen
        base = sim.base(request)
        wanted = [f for f in cat.fields if f in EDITABLE or f.startswith("customfield_")]
        fields: dict[str, Any] = {}
        for field_id in wanted:
            meta = field_meta_json(cat, field_id, field_id == "summary", base)
            fields[field_id] = project_item_meta(state, issue.project_id, meta, base)
        if sim.has_permission(user, "ADD_COMMENTS", issue.project_id):
            fields["comment"] = {
                **field_meta_json(cat, "comment", False, base),
                "operations": ["add"],
            }
        return JsonResponse({"fields": fields})

    # ----- watchers -----------------------------------------------------------------------

    def _watchers_body(issue: Issue, viewer: JiraUser, base: str) -> dict[str, Any]:
        return {
            "self": f"{base}/rest/api/2/issue/{issue.key}/watchers",
            "isWatching": viewer.key in issue.watcher_keys,
            "watchCount": len(issue.watcher_keys),
            "watchers": [user_json(cat.user_by_key(k), base) for k in issue.watcher_keys],
        }

    async def get_watchers(request: Request) -> Response:
        issue = _issue(request)
        viewer = acting_user(sim, request)
        return JsonResponse(_watchers_body(issue, viewer, sim.base(request)))

    def _watcher(name: str) -> JiraUser:
        user = cat.user(name)
        if user is None:
            raise JiraError(400, [f'The user "{name}" does not exist.'])
        return user

    async def add_watcher(request: Request) -> Response:
        actor = acting_user(sim, request)
        issue = _issue(request)
        name = request.query_params.get("userName")
        if name is None:
            try:
                raw = await read_json(request)
            except MalformedJson as exc:
                raise JiraError(400, [f"Unexpected character in JSON body: {exc}"]) from None
            name = raw if isinstance(raw, str) else actor.name  # no body: the caller
        user = _watcher(name)
        if user.key not in issue.watcher_keys:
            issue.watcher_keys.append(user.key)
        return Response(status_code=204)

    async def remove_watcher(request: Request) -> Response:
        acting_user(sim, request)
        issue = _issue(request)
        name = request.query_params.get("username") or request.query_params.get("userName")
        if not name:
            raise JiraError(400, ["The user name must be specified."])
        user = _watcher(name)
        if user.key in issue.watcher_keys:
            issue.watcher_keys.remove(user.key)
        return Response(status_code=204)

    # ----- issue links --------------------------------------------------------------------

    async def link_types(request: Request) -> Response:
        acting_user(sim, request)
        base = sim.base(request)
        return JsonResponse(
            {"issueLinkTypes": [link_type_json(t, base) for t in items.link_types.values()]}
        )

    def _linked(request: Request, raw: Any) -> Issue:
        ref = (raw.get("key") or raw.get("id")) if isinstance(raw, dict) else None
        if not ref:
            raise not_found("Issue Does Not Exist")
        try:
            return _issue(request, str(ref))
        except JiraError:
            raise not_found(f"Issue Does Not Exist: {ref}") from None

    async def create_link(request: Request) -> Response:
        actor = acting_user(sim, request)
        body = await json_body(request)
        link_type = items.link_type(body.get("type"))
        if link_type is None:
            ref = body.get("type")
            name = (ref.get("name") or ref.get("id")) if isinstance(ref, dict) else None
            raise not_found(f"No issue link type with name '{name}' found.")
        # As Jira's REST API has it: the `inwardIssue` is the link's source (it "blocks",
        # "duplicates"...), the `outwardIssue` its destination.
        source = _linked(request, body.get("inwardIssue"))
        destination = _linked(request, body.get("outwardIssue"))
        if not sim.has_permission(actor, "LINK_ISSUES", source.project_id):
            raise JiraError(401, [f"No Link Issue Permission for issue '{source.key}'."])
        comment = body.get("comment")
        events: list[IssueEvent] = []
        if isinstance(comment, dict) and comment.get("body") is not None:
            if not isinstance(comment["body"], str) or not comment["body"].strip():
                raise JiraError(400, [], {"comment": "Comment body can not be empty!"})
            errors: dict[str, str] = {}
            visibility = state.check_visibility(
                comment.get("visibility"), errors, author=actor, project_id=source.project_id
            )
            if errors:
                raise JiraError(400, [], errors)
            _, events = state.add_comment(actor, source, comment["body"], visibility)
        items.link(link_type.id, source.id, destination.id)
        sim.emit(events, sim.base(request))
        return Response(status_code=201)

    def _link(request: Request) -> Any:
        link_id = request.path_params["lid"]
        if not link_id.isdigit():
            raise JiraError(400, [f"The issue link id '{link_id}' is invalid."])
        link = items.links.get(link_id)
        viewer = _viewer(request)
        if link is None or (
            viewer is not None
            and not all(
                sim.has_permission(viewer, "BROWSE_PROJECTS", state.issues[i].project_id)
                for i in (link.outward_id, link.inward_id)
                if i in state.issues
            )
        ):
            raise not_found(f"No issue link with id '{link_id}' exists.")
        return link

    async def get_link(request: Request) -> Response:
        link = _link(request)
        return JsonResponse(issue_link_json(state, link, sim.base(request)))

    async def delete_link(request: Request) -> Response:
        actor = acting_user(sim, request)
        link = _link(request)
        source = state.issues.get(link.outward_id)
        if source is not None and not sim.has_permission(actor, "LINK_ISSUES", source.project_id):
            raise JiraError(401, [f"No Link Issue Permission for issue '{source.key}'."])
        del items.links[link.id]
        return Response(status_code=204)

    routes = [
        ("/project/{ref}/components", project_components, ["GET"]),
        ("/project/{ref}/versions", project_versions, ["GET"]),
        ("/component", create_component, ["POST"]),
        ("/version", create_version, ["POST"]),
        ("/issue/bulk", bulk_create, ["POST"]),
        ("/issue/{key}/editmeta", editmeta, ["GET"]),
        ("/issue/{key}/watchers", get_watchers, ["GET"]),
        ("/issue/{key}/watchers", add_watcher, ["POST"]),
        ("/issue/{key}/watchers", remove_watcher, ["DELETE"]),
        ("/issueLinkType", link_types, ["GET"]),
        ("/issueLink", create_link, ["POST"]),
        ("/issueLink/{lid}", get_link, ["GET"]),
        ("/issueLink/{lid}", delete_link, ["DELETE"]),
    ]
    return [
        Route(prefix + path, handler, methods=methods)
        for prefix in PREFIXES
        for path, handler, methods in routes
    ]
