"""Jira simulator: bulk create with per-issue errors, editmeta, watchers, issue links and
link types (links show in both issues' `issuelinks`). Contract mode is on."""

from __future__ import annotations

from typing import Any

from .conftest import Sim

BASE_FIELDS = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}}


async def create(jira: Sim, summary: str = "Down") -> str:
    resp = await jira.client.post("/issue", json={"fields": {**BASE_FIELDS, "summary": summary}})
    assert resp.status_code == 201, resp.text
    key: str = resp.json()["key"]
    return key


async def fields_of(jira: Sim, key: str) -> dict[str, Any]:
    fields: dict[str, Any] = (await jira.client.get(f"/issue/{key}")).json()["fields"]
    return fields


# ----------------------------------------------------------------------------- bulk create


async def test_bulk_create_reports_each_failed_issue_by_its_position(checked_jira: Sim) -> None:
    jira = checked_jira
    body = {
        "issueUpdates": [
            {"fields": {**BASE_FIELDS, "summary": "first"}},
            {"fields": {**BASE_FIELDS, "summary": "bad", "components": [{"name": "Nope"}]}},
            {"fields": {**BASE_FIELDS, "summary": "third", "duedate": "2026-12-01"}},
            {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}}},
        ]
    }
    resp = await jira.client.post("/issue/bulk", json=body)

    assert resp.status_code == 201, resp.text
    result = resp.json()
    assert [i["key"] for i in result["issues"]] == ["OPS-1", "OPS-2"]
    assert result["errors"] == [
        {
            "status": 400,
            "elementErrors": {
                "errorMessages": [],
                "errors": {"components": "Component name 'Nope' is not valid"},
            },
            "failedElementNumber": 1,
        },
        {
            "status": 400,
            "elementErrors": {
                "errorMessages": [],
                "errors": {"summary": "You must specify a summary of the issue."},
            },
            "failedElementNumber": 3,
        },
    ]
    assert (await fields_of(jira, "OPS-2"))["duedate"] == "2026-12-01"
    await jira.settled()
    assert [b["webhookEvent"] for b in jira.receiver.bodies()] == ["jira:issue_created"] * 2


async def test_bulk_create_where_every_issue_fails_is_a_400(checked_jira: Sim) -> None:
    body = {"issueUpdates": [{"fields": {**BASE_FIELDS, "summary": "x", "duedate": "soon"}}]}
    resp = await checked_jira.client.post("/issue/bulk", json=body)
    assert resp.status_code == 400
    assert resp.json()["issues"] == []
    assert resp.json()["errors"][0]["elementErrors"]["errors"] == {
        "duedate": "Error parsing date string: soon"
    }


# -------------------------------------------------------------------------------- editmeta


async def test_editmeta_lists_the_editable_fields_with_allowed_values(checked_jira: Sim) -> None:
    jira = checked_jira
    key = await create(jira)
    meta = (await jira.client.get(f"/issue/{key}/editmeta")).json()["fields"]
    for field_id in ("summary", "priority", "labels", "components", "fixVersions", "duedate"):
        assert field_id in meta, field_id
    assert meta["summary"]["required"] is True
    assert [c["name"] for c in meta["components"]["allowedValues"]] == [
        "API",
        "Database",
        "Frontend",
    ]
    assert meta["fixVersions"]["operations"] == ["set", "add", "remove"]
    assert meta["comment"]["operations"] == ["add"]
    assert "status" not in meta  # only a transition changes it
    await jira.admin.delete("/_sim/projects/OPS/permissions/EDIT_ISSUES")
    meta = (await jira.client.get(f"/issue/{key}/editmeta")).json()["fields"]
    assert "summary" not in meta


# -------------------------------------------------------------------------------- watchers


async def test_watchers_are_added_listed_and_removed(checked_jira: Sim) -> None:
    jira = checked_jira
    key = await create(jira)
    watchers = (await jira.client.get(f"/issue/{key}/watchers")).json()
    assert [w["name"] for w in watchers["watchers"]] == ["admin"]  # the reporter watches
    assert watchers["isWatching"] is True

    added = await jira.client.post(
        f"/issue/{key}/watchers",
        content=b'"jdoe"',
        headers={"Content-Type": "application/json"},
    )
    assert added.status_code == 204, added.text
    watchers = (await jira.client.get(f"/issue/{key}/watchers")).json()
    assert [w["name"] for w in watchers["watchers"]] == ["admin", "jdoe"]
    assert watchers["watchCount"] == 2
    assert (await fields_of(jira, key))["watches"]["watchCount"] == 2

    gone = await jira.client.delete(f"/issue/{key}/watchers", params={"username": "admin"})
    assert gone.status_code == 204
    watchers = (await jira.client.get(f"/issue/{key}/watchers")).json()
    assert [w["name"] for w in watchers["watchers"]] == ["jdoe"]
    assert watchers["isWatching"] is False

    unknown = await jira.client.delete(f"/issue/{key}/watchers", params={"username": "ghost"})
    assert unknown.status_code == 400
    assert unknown.json()["errorMessages"] == ['The user "ghost" does not exist.']


# ----------------------------------------------------------------------------- issue links


async def test_link_types_are_those_of_a_fresh_instance(checked_jira: Sim) -> None:
    types = (await checked_jira.client.get("/issueLinkType")).json()["issueLinkTypes"]
    assert {t["name"]: t["outward"] for t in types} == {
        "Blocks": "blocks",
        "Cloners": "clones",
        "Duplicate": "duplicates",
        "Relates": "relates to",
    }


async def test_an_issue_link_shows_on_both_issues_and_can_be_deleted(checked_jira: Sim) -> None:
    jira = checked_jira
    blocker, blocked = await create(jira, "db down"), await create(jira, "api down")
    body = {
        "type": {"name": "Blocks"},
        "inwardIssue": {"key": blocker},  # Jira's REST naming: the link's source
        "outwardIssue": {"key": blocked},
        "comment": {"body": "Linked by the on-call"},
    }
    made = await jira.client.post("/issueLink", json=body)
    assert made.status_code == 201, made.text

    (on_blocker,) = (await fields_of(jira, blocker))["issuelinks"]
    assert on_blocker["type"]["outward"] == "blocks"
    assert on_blocker["outwardIssue"]["key"] == blocked
    assert "inwardIssue" not in on_blocker
    (on_blocked,) = (await fields_of(jira, blocked))["issuelinks"]
    assert on_blocked["inwardIssue"]["key"] == blocker
    assert on_blocked["inwardIssue"]["fields"]["summary"] == "db down"
    comments = (await fields_of(jira, blocker))["comment"]["comments"]
    assert [c["body"] for c in comments] == ["Linked by the on-call"]

    link = (await jira.client.get(f"/issueLink/{on_blocker['id']}")).json()
    assert link["inwardIssue"]["key"] == blocker
    assert link["outwardIssue"]["key"] == blocked
    assert (await jira.client.delete(f"/issueLink/{link['id']}")).status_code == 204
    assert (await fields_of(jira, blocker))["issuelinks"] == []
    assert (await jira.client.get(f"/issueLink/{link['id']}")).status_code == 404


async def test_linking_to_an_unknown_issue_or_type_is_a_404(checked_jira: Sim) -> None:
    jira = checked_jira
    key = await create(jira)
    missing = await jira.client.post(
        "/issueLink",
        json={
            "type": {"name": "Blocks"},
            "inwardIssue": {"key": key},
            "outwardIssue": {"key": "OPS-99"},
        },
    )
    assert missing.status_code == 404
    no_type = await jira.client.post(
        "/issueLink",
        json={
            "type": {"name": "Causes"},
            "inwardIssue": {"key": key},
            "outwardIssue": {"key": key},
        },
    )
    assert no_type.status_code == 404
    assert no_type.json()["errorMessages"] == ["No issue link type with name 'Causes' found."]
