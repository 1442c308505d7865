"""Jira simulator: a transition or an edit that carries a comment fires ONE issue event with
both the changelog and the comment (as Jira Server does), plus the standalone comment_created
for registrations that asked for it; comment visibility is validated, stored and returned.
Contract mode is on: every exchange must pass the DC document."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Sim


async def create(jira: Sim) -> str:
    fields = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Down"}
    resp = await jira.client.post("/issue", json={"fields": fields})
    assert resp.status_code == 201, resp.text
    key: str = resp.json()["key"]
    return key


async def hooks_after(jira: Sim, skip: int) -> list[dict[str, Any]]:
    await jira.settled()
    bodies: list[dict[str, Any]] = jira.receiver.bodies()
    return bodies[skip:]


async def test_a_transition_with_a_comment_sends_one_event_with_changelog_and_comment(
    checked_jira: Sim,
) -> None:
    key = await create(checked_jira)
    body = {
        "transition": {"id": "21"},
        "update": {"comment": [{"add": {"body": "Fixed by the rollback"}}]},
    }
    resp = await checked_jira.client.post(f"/issue/{key}/transitions", json=body)
    assert resp.status_code == 204, resp.text

    (hook,) = await hooks_after(checked_jira, 1)
    assert hook["webhookEvent"] == "jira:issue_updated"
    assert hook["issue_event_type_name"] == "issue_resolved"  # the transition's event
    fields = {i["field"]: i["toString"] for i in hook["changelog"]["items"]}
    assert fields["status"] == "Done"
    assert hook["comment"]["body"] == "Fixed by the rollback"
    assert hook["issue"]["fields"]["status"]["name"] == "Done"
    comments = (await checked_jira.client.get(f"/issue/{key}/comment")).json()["comments"]
    assert [c["body"] for c in comments] == ["Fixed by the rollback"]
    assert comments[0]["id"] == hook["comment"]["id"]


async def test_an_edit_with_a_comment_sends_one_event_and_a_comment_only_edit_is_commented(
    checked_jira: Sim,
) -> None:
    key = await create(checked_jira)
    body = {
        "fields": {"priority": {"name": "High"}},
        "update": {"comment": [{"add": {"body": "Raising it"}}]},
    }
    assert (await checked_jira.client.put(f"/issue/{key}", json=body)).status_code == 204
    only = {"update": {"comment": [{"add": {"body": "Just a note"}}]}}
    assert (await checked_jira.client.put(f"/issue/{key}", json=only)).status_code == 204

    edit, commented = await hooks_after(checked_jira, 1)
    assert edit["issue_event_type_name"] == "issue_updated"
    assert [i["field"] for i in edit["changelog"]["items"]] == ["priority"]
    assert edit["comment"]["body"] == "Raising it"
    assert commented["issue_event_type_name"] == "issue_commented"
    assert "changelog" not in commented
    assert commented["comment"]["body"] == "Just a note"


async def test_registrations_for_comment_events_also_get_the_standalone_comment_created(
    checked_jira: Sim,
) -> None:
    events = ["jira:issue_updated", "comment_created"]
    checked_jira.sim.set_webhook_target(checked_jira.receiver.url, None, events)
    key = await create(checked_jira)
    body = {"transition": {"id": "11"}, "update": {"comment": [{"add": {"body": "On it"}}]}}
    assert (
        await checked_jira.client.post(f"/issue/{key}/transitions", json=body)
    ).status_code == 204

    issue_hook, comment_hook = await hooks_after(checked_jira, 0)
    assert issue_hook["issue_event_type_name"] == "issue_work_started"
    assert issue_hook["comment"]["id"] == comment_hook["comment"]["id"]
    assert comment_hook["webhookEvent"] == "comment_created"
    assert "issue" not in comment_hook


@pytest.mark.parametrize(
    ("visibility", "error"),
    [
        ({"type": "group", "value": "no-such-group"}, "Group: no-such-group does not exist."),
        ({"type": "role", "value": "Astronauts"}, "Role: Astronauts does not exist."),
        (  # admin is in OPS's Administrators role (by group), not in Developers
            {"type": "role", "value": "Developers"},
            "You are currently not a member of the project role: Developers.",
        ),
        (
            {"type": "group", "value": "on-call"},
            "You are currently not a member of the group: on-call.",
        ),
    ],
)
async def test_comment_visibility_naming_an_unknown_role_or_group_is_refused(
    checked_jira: Sim, visibility: dict[str, str], error: str
) -> None:
    checked_jira.sim.state.catalog.groups["on-call"] = ["jdoe"]
    key = await create(checked_jira)
    resp = await checked_jira.client.post(
        f"/issue/{key}/comment", json={"body": "secret", "visibility": visibility}
    )
    assert resp.status_code == 400
    assert resp.json()["errors"] == {"commentLevel": error}
    moved = await checked_jira.client.post(
        f"/issue/{key}/transitions",
        json={
            "transition": {"id": "11"},
            "update": {"comment": [{"add": {"body": "x", "visibility": visibility}}]},
        },
    )
    assert moved.status_code == 400
    assert moved.json()["errors"] == {"commentLevel": error}
    issue = (await checked_jira.client.get(f"/issue/{key}")).json()["fields"]
    assert issue["status"]["name"] == "To Do"  # nothing happened
    assert issue["comment"]["total"] == 0


async def test_comment_visibility_is_stored_and_returned(checked_jira: Sim) -> None:
    key = await create(checked_jira)
    role = {"type": "role", "value": "Administrators"}
    resp = await checked_jira.client.post(
        f"/issue/{key}/comment", json={"body": "devs only", "visibility": role}
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["visibility"] == role
    cid = resp.json()["id"]
    group = {"type": "group", "value": "jira-administrators"}
    edited = await checked_jira.client.put(
        f"/issue/{key}/comment/{cid}", json={"body": "admins only", "visibility": group}
    )
    assert edited.json()["visibility"] == group
    again = (await checked_jira.client.get(f"/issue/{key}/comment/{cid}")).json()
    assert again["visibility"] == group
