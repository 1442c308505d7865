"""JQL over REST: what pdjira's rules service asks Jira with `key = "X" AND (<jql>)` for the
JQL it cannot evaluate itself (functions, history operators)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from .conftest import Sim


async def sim_issue(jira: Sim, summary: str, as_user: str, **extra: Any) -> str:
    resp = await jira.admin.post(
        "/_sim/issues", json={"summary": summary, "as_user": as_user, **extra}
    )
    assert resp.status_code == 201, resp.text
    key: str = resp.json()["key"]
    return key


@pytest.fixture
async def issues(jira: Sim) -> dict[str, str]:
    """OPS-1: by admin, assigned to jdoe, worked by jdoe (To Do -> In Progress -> Done).
    OPS-2: by jdoe, untouched. OPS-3: by admin, assigned to admin, priority changed by jdoe."""
    worked = await sim_issue(jira, "worked", "admin")
    untouched = await sim_issue(jira, "untouched", "jdoe")
    mine = await sim_issue(jira, "mine", "admin")
    for key, fields, who in (
        (worked, {"assignee": {"name": "jdoe"}}, "admin"),
        (mine, {"assignee": {"name": "admin"}}, "admin"),
        (mine, {"priority": {"name": "Highest"}}, "jdoe"),
    ):
        edited = await jira.admin.post(
            f"/_sim/issues/{key}/edit", json={"fields": fields, "as_user": who}
        )
        assert edited.status_code == 200, edited.text
    for status in ("In Progress", "Done"):
        moved = await jira.admin.post(
            f"/_sim/issues/{worked}/transition", json={"status": status, "as_user": "jdoe"}
        )
        assert moved.status_code == 200, moved.text
    return {"worked": worked, "untouched": untouched, "mine": mine}


@pytest.fixture
async def as_jdoe(jira: Sim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"{jira.base_url}/rest/api/2", auth=("jdoe", "jdoe"), trust_env=False
    ) as client:
        yield client


async def found(client: httpx.AsyncClient, jql: str) -> list[str]:
    resp = await client.post("/search", json={"jql": jql, "fields": ["summary"]})
    assert resp.status_code == 200, resp.text
    return [issue["fields"]["summary"] for issue in resp.json()["issues"]]


@pytest.mark.parametrize(
    ("jql", "as_admin", "as_jdoe_"),
    [
        ("assignee = currentUser()", ["mine"], ["worked"]),
        ("assignee != currentUser()", ["worked"], ["mine"]),
        ("assignee in (currentUser(), admin) ORDER BY key", ["mine"], ["worked", "mine"]),
        ("reporter = currentUser()", ["worked", "mine"], ["untouched"]),
        ("reporter != currentUser()", ["untouched"], ["worked", "mine"]),
        ("creator = currentUser()", ["worked", "mine"], ["untouched"]),
        ('assignee in membersOf("jira-administrators")', ["mine"], ["mine"]),
        ('assignee in membersOf("jira-software-users")', ["worked", "mine"], ["worked", "mine"]),
        ('reporter not in membersOf("jira-administrators")', ["untouched"], ["untouched"]),
        ("created > startOfDay() AND created <= now()", ["worked", "untouched", "mine"], None),
        ('created < startOfDay("-1d")', [], None),
        ("updated <= endOfDay()", ["worked", "untouched", "mine"], None),
        ('status WAS "In Progress"', ["worked"], None),
        ('status WAS "To Do"', ["worked", "untouched", "mine"], None),
        ('status WAS NOT "In Progress"', ["untouched", "mine"], None),
        ('status WAS IN ("In Progress", "Review")', ["worked"], None),
        ('status WAS "In Progress" BY jdoe', ["worked"], None),
        ('status WAS "In Progress" BY admin', [], None),
        ("status WAS Done BY currentUser()", [], ["worked"]),
        ("status WAS Done AFTER startOfDay()", ["worked"], None),
        ("status CHANGED", ["worked"], None),
        ('status CHANGED FROM "To Do" TO "In Progress"', ["worked"], None),
        ('status CHANGED FROM "To Do" TO "Done"', [], None),
        ("status CHANGED BY currentUser() AFTER -1h", [], ["worked"]),
        ("priority CHANGED", ["mine"], None),
        ("priority CHANGED TO Highest BY jdoe", ["mine"], None),
        ("priority WAS Medium", ["worked", "untouched", "mine"], None),
        ("assignee WAS EMPTY", ["worked", "untouched", "mine"], None),
        ("assignee CHANGED FROM EMPTY TO jdoe", ["worked"], None),
        ("resolution WAS Done", ["worked"], None),
        ("resolution CHANGED TO Done ON startOfDay()", ["worked"], None),
    ],
)
async def test_functions_and_history_in_search(
    jira: Sim,
    issues: dict[str, str],
    as_jdoe: httpx.AsyncClient,
    jql: str,
    as_admin: list[str],
    as_jdoe_: list[str] | None,
) -> None:
    assert await found(jira.client, jql) == as_admin
    if as_jdoe_ is not None:
        assert await found(as_jdoe, jql) == as_jdoe_


@pytest.mark.parametrize(
    ("jql", "matched"),
    [
        ("assignee = currentUser()", {"mine"}),
        ('status WAS "In Progress" OR assignee in membersOf("jira-administrators")',
         {"worked", "mine"}),
        ("status CHANGED AND NOT status = Done", set()),
    ],
)  # fmt: skip
async def test_does_issue_x_match_pattern(
    jira: Sim, issues: dict[str, str], jql: str, matched: set[str]
) -> None:
    for name, key in issues.items():
        hit = await found(jira.client, f'key = "{key}" AND ({jql})')
        assert hit == ([name] if name in matched else []), (name, jql)


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("assignee = foo()", "Unable to find JQL function 'foo()'."),
        (
            'key = "OPS-1" AND (assignee in membersOf("nosuchgroup"))',
            "Function 'membersOf' can not generate a list of usernames for group 'nosuchgroup'; "
            "the group does not exist.",
        ),
        (
            "assignee WAS currentUser()",
            "A value provided by the function 'currentUser' is invalid for the field 'assignee'.",
        ),
        ("created > now(1)", "Function 'now' expected '0' arguments but received '1'."),
        ('status WAS "Nope"', "The value 'Nope' does not exist for the field 'status'."),
        ("status CHANGED BY nosuchuser", "The user 'nosuchuser' does not exist."),
        ("labels CHANGED", "History searches do not support the 'labels' field."),
        (
            "key in issueHistory()",
            "The JQL function 'issueHistory()' exists in Jira but is not supported by the "
            "simulator.",
        ),
    ],
)
async def test_bad_functions_are_400_with_jira_s_message(
    jira: Sim, issues: dict[str, str], jql: str, message: str
) -> None:
    for resp in (
        await jira.client.post("/search", json={"jql": jql}),
        await jira.client.get("/search", params={"jql": jql}),
    ):
        assert resp.status_code == 400
        assert resp.json() == {"errorMessages": [message], "errors": {}}


async def test_group_membership_via_admin_endpoint(
    jira: Sim, issues: dict[str, str], as_jdoe: httpx.AsyncClient
) -> None:
    jql = 'assignee in membersOf("jira-administrators")'
    assert await found(jira.client, jql) == ["mine"]

    added = await jira.admin.post("/_sim/groups/jira-administrators/users", json={"name": "jdoe"})
    assert added.status_code == 201
    assert added.json()["groups"]["jira-administrators"] == ["admin", "jdoe"]
    assert await found(jira.client, jql) == ["worked", "mine"]
    me = await as_jdoe.get("/myself", params={"expand": "groups"})
    assert [g["name"] for g in me.json()["groups"]["items"]] == [
        "jira-administrators",
        "jira-software-users",
    ]

    removed = await jira.admin.delete("/_sim/groups/jira-administrators/users/jdoe")
    assert removed.status_code == 200
    assert await found(jira.client, jql) == ["mine"]
    again = await jira.admin.delete("/_sim/groups/jira-administrators/users/jdoe")
    assert again.status_code == 404


async def test_new_groups_and_users(jira: Sim, issues: dict[str, str]) -> None:
    created = await jira.admin.post("/_sim/users", json={"name": "kim", "groups": ["sre-oncall"]})
    assert created.status_code == 201
    assert created.json()["groups"] == ["jira-software-users", "sre-oncall"]
    groups = (await jira.admin.get("/_sim/groups")).json()["groups"]
    assert groups == {
        "jira-administrators": ["admin"],
        "jira-software-users": ["admin", "jdoe", "kim"],
        "sre-oncall": ["kim"],
    }
    await jira.admin.post(
        f"/_sim/issues/{issues['untouched']}/edit",
        json={"fields": {"assignee": {"name": "kim"}}},
    )
    assert await found(jira.client, 'assignee in membersOf("SRE-oncall")') == ["untouched"]
    unknown = await jira.admin.post("/_sim/groups/sre-oncall/users", json={"name": "nobody"})
    assert unknown.status_code == 400
