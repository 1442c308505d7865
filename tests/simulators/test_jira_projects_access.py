"""Jira: per-project permission schemes, project roles and a Jira Service Management project
(service desks, request types, the "Service Desk Team" role), and the `/_sim` endpoints that
take a permission or an agent away; the health read's traffic passes the contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pdjira_simulators.jira import JiraSettings
from pdjira_simulators.jira import create_app as create_jira
from pdjira_simulators.testing import running_server

from .conftest import Sim

TEAM = "Service Desk Team"


async def new_issue(jira: Sim, project: str = "OPS") -> str:
    body = {"summary": "x", "project": project, "as_user": "admin"}
    key: str = (await jira.admin.post("/_sim/issues", json=body)).json()["key"]
    return key


async def have(client: httpx.AsyncClient, project: str, permission: str) -> bool:
    mine = (await client.get("/mypermissions", params={"projectKey": project})).json()
    held: bool = mine["permissions"][permission]["havePermission"]
    return held


async def test_a_revoked_project_permission_is_enforced_in_that_project_only(jira: Sim) -> None:
    key = await new_issue(jira)
    revoked = await jira.admin.delete("/_sim/projects/OPS/permissions/TRANSITION_ISSUES")
    assert revoked.json()["permissions"]["TRANSITION_ISSUES"] == []
    assert await have(jira.client, "OPS", "TRANSITION_ISSUES") is False
    assert await have(jira.client, "HELP", "TRANSITION_ISSUES") is True
    assert await have(jira.client, "OPS", "EDIT_ISSUES") is True
    moved = await jira.client.post(f"/issue/{key}/transitions", json={"transition": {"id": "21"}})
    assert moved.status_code == 400
    assert moved.json()["errorMessages"] == ["You do not have permission to transition this issue."]
    await jira.admin.delete("/_sim/projects/OPS/permissions/ADD_COMMENTS")
    comment = await jira.client.post(f"/issue/{key}/comment", json={"body": "hi"})
    assert comment.status_code == 400
    await jira.admin.delete("/_sim/projects/OPS/permissions/CREATE_ISSUES")
    fields = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "s"}
    created = await jira.client.post("/issue", json={"fields": fields})
    assert created.status_code == 400
    assert created.json()["errorMessages"] == [
        "You do not have permission to create issues in this project."
    ]
    await jira.admin.delete("/_sim/projects/OPS/permissions/ASSIGN_ISSUES")
    assign = await jira.client.put(f"/issue/{key}/assignee", json={"name": "jdoe"})
    assert assign.status_code == 401
    # Back to the project's default scheme: everything works again.
    await jira.admin.delete("/_sim/projects/OPS/permissions")
    assert await have(jira.client, "OPS", "TRANSITION_ISSUES") is True
    moved = await jira.client.post(f"/issue/{key}/transitions", json={"transition": {"id": "21"}})
    assert moved.status_code == 204
    # A grant to one user only.
    granted = await jira.admin.put(
        "/_sim/projects/OPS/permissions/EDIT_ISSUES",
        json={"grants": [{"type": "user", "value": "jdoe"}]},
    )
    assert granted.json()["permissions"]["EDIT_ISSUES"] == [{"type": "user", "value": "jdoe"}]
    assert await have(jira.client, "OPS", "EDIT_ISSUES") is False
    bad = await jira.admin.put(
        "/_sim/projects/OPS/permissions/EDIT_ISSUES", json={"grants": [{"type": "role"}]}
    )
    assert bad.status_code == 400


async def test_project_roles_as_jira_lists_them(jira: Sim) -> None:
    roles = (await jira.client.get("/project/HELP/role")).json()
    assert set(roles) >= {"Administrators", TEAM, "Service Desk Customers"}
    assert roles[TEAM].endswith("/rest/api/2/project/HELP/role/10100")
    team = (await jira.client.get("/project/HELP/role/10100")).json()
    assert team["name"] == TEAM
    assert team["id"] == 10100
    assert {"type": "atlassian-user-role-actor", "name": "admin"} in [
        {"type": a["type"], "name": a["name"]} for a in team["actors"]
    ]
    assert (await jira.client.get("/project/NOPE/role")).status_code == 404
    assert (await jira.client.get("/project/HELP/role/999")).status_code == 404


async def test_service_desk_agents_are_the_team_role(jira: Sim) -> None:
    made = await jira.admin.post("/_sim/users", json={"name": "agent", "password": "pw"})
    assert made.status_code == 201
    base = f"{jira.base_url}/rest/api/2"
    async with httpx.AsyncClient(base_url=base, auth=("agent", "pw"), trust_env=False) as agent:
        # A customer only: may browse and comment, not move requests.
        assert await have(agent, "HELP", "BROWSE_PROJECTS") is True
        assert await have(agent, "HELP", "TRANSITION_ISSUES") is False
        assert await have(agent, "OPS", "TRANSITION_ISSUES") is True
        added = await jira.admin.post(
            f"/_sim/projects/HELP/roles/{TEAM}/actors", json={"user": "agent"}
        )
        assert {"type": "user", "name": "agent"} in added.json()["actors"]
        assert await have(agent, "HELP", "TRANSITION_ISSUES") is True
        key = await new_issue(jira, "HELP")
        moved = await agent.post(f"/issue/{key}/transitions", json={"transition": {"id": "21"}})
        assert moved.status_code == 204
        removed = await jira.admin.delete(
            f"/_sim/projects/HELP/roles/{TEAM}/actors", params={"user": "agent"}
        )
        assert {"type": "user", "name": "agent"} not in removed.json()["actors"]
        assert await have(agent, "HELP", "TRANSITION_ISSUES") is False
        again = await jira.admin.delete(
            f"/_sim/projects/HELP/roles/{TEAM}/actors", params={"user": "agent"}
        )
        assert again.status_code == 404


async def test_service_desks_and_request_types_paged_like_jsm(jira: Sim) -> None:
    sd = f"{jira.base_url}/rest/servicedeskapi"
    desks = (await jira.client.get(f"{sd}/servicedesk")).json()
    assert desks["isLastPage"] is True
    assert desks["start"] == 0
    [desk] = desks["values"]
    assert (desk["id"], desk["projectKey"], desk["projectId"]) == ("1", "HELP", "10001")
    types = (await jira.client.get(f"{sd}/servicedesk/1/requesttype", params={"limit": 1})).json()
    assert types["size"] == 1
    assert types["isLastPage"] is False
    assert "next" in types["_links"]
    [first] = types["values"]
    assert (first["name"], first["serviceDeskId"]) == ("Get IT help", "1")
    missing = await jira.client.get(f"{sd}/servicedesk/9/requesttype")
    assert missing.status_code == 404
    anonymous = await jira.admin.get(f"{sd}/servicedesk")
    assert anonymous.status_code == 401


@pytest.fixture
async def checked() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    app = create_jira(JiraSettings(seed=2, check_contract=True))
    headers = {"Accept": "application/json", "X-Atlassian-Token": "no-check"}
    async with (
        running_server(app) as base,
        httpx.AsyncClient(
            base_url=base, headers=headers, auth=("admin", "admin"), trust_env=False
        ) as client,
        httpx.AsyncClient(base_url=base, trust_env=False) as admin,
    ):
        yield client, admin


async def test_health_read_traffic_passes_the_contract(
    checked: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    """What the jira-writer's health read sends (services/jira-writer: health.py)."""
    client, admin = checked
    api = "/rest/api/2"
    calls: list[tuple[str, dict[str, Any]]] = [
        (f"{api}/serverInfo", {}),
        (f"{api}/myself", {"expand": "groups"}),
        (f"{api}/project/HELP", {}),
        (f"{api}/mypermissions", {"projectKey": "HELP"}),
        (f"{api}/project/HELP/role", {}),
        (f"{api}/project/HELP/role/10100", {}),
        ("/rest/servicedeskapi/servicedesk", {"start": "0", "limit": "50"}),
        ("/rest/servicedeskapi/servicedesk/1/requesttype", {"start": "0", "limit": "50"}),
    ]
    for path, params in calls:
        response = await client.get(path, params=params)
        assert response.status_code == 200, (path, response.text)
    body = (await admin.get("/_sim/contract-violations")).json()
    assert body["violations"] == []
