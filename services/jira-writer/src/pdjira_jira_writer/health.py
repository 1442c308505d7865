"""``reads.jira.<instance>.health`` (``pdjira doctor``, ``rules validate``): Jira's version, who
the credentials log in as, per asked project the permissions held (``mypermissions``), and for
a Jira Service Management project its request types and whether the login is an agent (in
the project's "Service Desk Team" role). Through the instance's client: the same budget."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from faststream.nats import NatsBroker
from pdjira_common.doctor import (
    JIRA_HEALTH,
    SERVICE_DESK_TEAM,
    JiraHealthRead,
    JiraHealthReply,
    JiraProjectAccess,
    JiraServiceDesk,
)
from pdjira_writer.errors import Refused
from pdjira_writer.reads import answer_read, serve_read

from pdjira_jira_writer.handlers import CONSUMER
from pdjira_jira_writer.jira_client import JiraApi
from pdjira_jira_writer.spec import SPEC

__all__ = ["JiraHealthApi", "health_of", "register_health", "service_desk_agent"]


@runtime_checkable
class JiraHealthApi(Protocol):
    async def server_info(self) -> dict[str, Any]: ...

    async def myself_with_groups(self) -> dict[str, Any]: ...

    async def my_permissions(self, project: str) -> dict[str, Any]: ...

    async def project(self, project: str) -> dict[str, Any]: ...

    async def project_role_ids(self, project: str) -> dict[str, Any]: ...

    async def project_role(self, project: str, role_id: str) -> dict[str, Any]: ...

    async def service_desks(self) -> list[dict[str, Any]]: ...

    async def request_types(self, desk_id: str) -> list[dict[str, Any]]: ...


def service_desk_agent(role: Mapping[str, Any], user: str, groups: set[str]) -> bool:
    """Is ``user`` (or one of its ``groups``) an actor of this role (``GET .../role/{id}``)?"""
    for actor in role.get("actors") or []:
        if not isinstance(actor, dict):
            continue
        name = str(actor.get("name") or "")
        if actor.get("type") == "atlassian-user-role-actor" and name == user:
            return True
        if actor.get("type") == "atlassian-group-role-actor" and name.casefold() in groups:
            return True
    return False


def _held(answer: Mapping[str, Any]) -> tuple[str, ...]:
    permissions = answer.get("permissions")
    if not isinstance(permissions, dict):
        return ()
    return tuple(
        sorted(k for k, v in permissions.items() if isinstance(v, dict) and v.get("havePermission"))
    )


async def _desk(
    api: JiraHealthApi, key: str, desk_id: str, user: str, groups: set[str]
) -> JiraServiceDesk:
    types = tuple(str(t.get("name")) for t in await api.request_types(desk_id))
    try:
        roles = await api.project_role_ids(key)
        url = roles.get(SERVICE_DESK_TEAM)
        if not isinstance(url, str):
            return JiraServiceDesk(
                id=desk_id,
                request_types=types,
                agent=False,
                role_error=f"project {key} has no '{SERVICE_DESK_TEAM}' role",
            )
        role = await api.project_role(key, url.rstrip("/").rsplit("/", 1)[-1])
    except Refused as exc:
        return JiraServiceDesk(id=desk_id, request_types=types, role_error=exc.reason)
    return JiraServiceDesk(
        id=desk_id, request_types=types, agent=service_desk_agent(role, user, groups)
    )


async def health_of(api: JiraHealthApi, projects: tuple[str, ...]) -> JiraHealthReply:
    info = await api.server_info()
    me = await api.myself_with_groups()
    user = str(me.get("name") or "")
    items = (me.get("groups") or {}).get("items") or []
    groups = {str(g.get("name")).casefold() for g in items if isinstance(g, dict)}
    desks: dict[str, str] = {}  # project key -> service desk id
    jsm: bool | None = None
    if projects:
        try:
            desks = {str(d.get("projectKey")): str(d.get("id")) for d in await api.service_desks()}
            jsm = True
        except Refused as exc:
            if exc.status_code != 404:
                raise
            jsm = False  # Jira Service Management is not installed
    found: list[JiraProjectAccess] = []
    for ref in projects:
        try:
            project = await api.project(ref)
            key = str(project.get("key") or ref)
            held = _held(await api.my_permissions(key))
        except Refused as exc:
            if exc.status_code == 404:
                found.append(JiraProjectAccess(project=ref))
            else:
                found.append(JiraProjectAccess(project=ref, error=exc.reason))
            continue
        desk = await _desk(api, key, desks[key], user, groups) if key in desks else None
        found.append(JiraProjectAccess(project=ref, key=key, held=held, service_desk=desk))
    return JiraHealthReply(
        version=str(info.get("version") or "") or None,
        deployment=str(info.get("deploymentType") or "") or None,
        user=user or None,
        projects=tuple(found),
        service_management=jsm,
    )


def register_health(broker: NatsBroker, clients: Mapping[str, JiraApi]) -> None:
    async def answer(request: JiraHealthRead) -> JiraHealthReply:
        async def check(client: JiraApi) -> JiraHealthReply:
            if not isinstance(client, JiraHealthApi):
                raise TypeError("this Jira client cannot check its health")
            return await health_of(client, request.projects)

        return await answer_read(
            clients, request.instance, SPEC, JIRA_HEALTH, check, JiraHealthReply
        )

    serve_read(broker, f"reads.jira.*.{JIRA_HEALTH}", answer, queue=CONSUMER)
