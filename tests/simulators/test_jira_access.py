"""Jira: 401/403 as Jira answers them, permissions, mypermissions, comments, 429 bursts."""

from __future__ import annotations

import httpx
from pdjira_simulators.testing import WebhookReceiver

from .conftest import Sim


async def new_issue(jira: Sim) -> str:
    key: str = (await jira.admin.post("/_sim/issues", json={"summary": "x"})).json()["key"]
    return key


async def test_captcha_after_three_failed_logins(jira: Sim) -> None:
    api = f"{jira.base_url}/rest/api/2/myself"
    for _ in range(3):
        wrong = await jira.admin.get(api, auth=("jdoe", "wrong"))
        assert wrong.status_code == 401
        assert wrong.headers["x-seraph-loginreason"] == "AUTHENTICATED_FAILED"
    # Now even the right password is refused until the CAPTCHA is solved in the browser.
    denied = await jira.admin.get(api, auth=("jdoe", "jdoe"))
    assert denied.status_code == 403
    assert denied.headers["x-seraph-loginreason"] == "AUTHENTICATION_DENIED"
    assert denied.headers["x-authentication-denied-reason"].startswith("CAPTCHA_CHALLENGE")
    # Other users and tokens are unaffected.
    assert (await jira.client.get("/myself")).status_code == 200
    failures = (await jira.admin.get("/_sim/login-failures")).json()["failures"]
    assert failures == {"jdoe": 3}
    await jira.admin.delete("/_sim/login-failures")
    assert (await jira.admin.get(api, auth=("jdoe", "jdoe"))).status_code == 200


async def test_permissions_and_mypermissions(jira: Sim) -> None:
    key = await new_issue(jira)
    mine = (await jira.client.get("/mypermissions", params={"projectKey": "OPS"})).json()
    assert mine["permissions"]["TRANSITION_ISSUES"]["havePermission"] is True
    missing = await jira.client.get("/mypermissions", params={"issueKey": "OPS-999"})
    assert missing.status_code == 404
    await jira.admin.put(
        "/_sim/permissions",
        json={"user": "jdoe", "permissions": ["BROWSE_PROJECTS", "ADD_COMMENTS"]},
    )
    async with httpx.AsyncClient(
        base_url=f"{jira.base_url}/rest/api/2", auth=("jdoe", "jdoe"), trust_env=False
    ) as jdoe:
        perms = (await jdoe.get("/mypermissions")).json()["permissions"]
        assert perms["BROWSE_PROJECTS"]["havePermission"] is True
        assert perms["EDIT_ISSUES"]["havePermission"] is False
        deleted = await jdoe.delete(f"/issue/{key}")
        assert deleted.status_code == 403
        assert deleted.json()["errorMessages"] == [
            "You do not have permission to delete issues in this project."
        ]
        prop = await jdoe.put(f"/issue/{key}/properties/pd", json={"a": 1})
        assert prop.status_code == 403
        link = await jdoe.post(
            f"/issue/{key}/remotelink", json={"object": {"url": "https://x", "title": "x"}}
        )
        assert link.status_code == 403
        edit = await jdoe.put(f"/issue/{key}", json={"fields": {"summary": "y"}})
        assert edit.status_code == 400
        assert "cannot be set" in edit.json()["errors"]["summary"]
        moved = await jdoe.post(f"/issue/{key}/transitions", json={"transition": {"id": "11"}})
        assert moved.status_code == 400
        assert (await jdoe.post(f"/issue/{key}/comment", json={"body": "ok"})).status_code == 201
        await jira.admin.put("/_sim/permissions", json={"user": "jdoe", "permissions": []})
        assert (await jdoe.get(f"/issue/{key}")).status_code == 404  # may not browse: hidden
        found = (await jdoe.get("/search", params={"jql": "project = OPS"})).json()
        assert found["issues"] == []
    issue = (await jira.client.get(f"/issue/{key}")).json()
    assert issue["fields"]["status"]["name"] == "To Do"  # nothing jdoe was refused happened
    assert issue["fields"]["summary"] == "x"
    bad = await jira.admin.put("/_sim/permissions", json={"user": "jdoe", "permissions": ["X"]})
    assert bad.status_code == 400


async def test_comment_edit_and_delete(jira: Sim) -> None:
    async with WebhookReceiver() as standalone:
        key = await new_issue(jira)
        registered = await jira.admin.post(
            "/rest/webhooks/1.0/webhook",
            auth=("admin", "admin"),
            json={
                "name": "c",
                "url": standalone.url,
                "events": ["comment_updated", "comment_deleted"],
            },
        )
        assert registered.status_code == 201
        created = await jira.client.post(f"/issue/{key}/comment", json={"body": "first"})
        comment_id = created.json()["id"]
        edited = await jira.client.put(
            f"/issue/{key}/comment/{comment_id}", json={"body": "second"}
        )
        assert edited.status_code == 200
        assert edited.json()["body"] == "second"
        assert edited.json()["updateAuthor"]["name"] == "admin"
        empty = await jira.client.put(f"/issue/{key}/comment/{comment_id}", json={"body": " "})
        assert empty.status_code == 400
        listed = (await jira.client.get(f"/issue/{key}/comment")).json()
        assert [c["body"] for c in listed["comments"]] == ["second"]
        assert (await jira.client.delete(f"/issue/{key}/comment/{comment_id}")).status_code == 204
        assert (await jira.client.get(f"/issue/{key}/comment/{comment_id}")).status_code == 404
        assert (await jira.client.get(f"/issue/{key}/comment")).json()["total"] == 0
        hooks = await jira.receiver.wait_for(4)
        bodies = [h.json() for h in hooks]
        assert [(b["webhookEvent"], b["issue_event_type_name"]) for b in bodies] == [
            ("jira:issue_created", "issue_created"),
            ("jira:issue_updated", "issue_commented"),
            ("jira:issue_updated", "issue_comment_edited"),
            ("jira:issue_updated", "issue_comment_deleted"),
        ]
        assert bodies[2]["comment"]["body"] == "second"
        assert bodies[3]["comment"]["id"] == comment_id  # the deleted comment, as it was
        alone = [h.json() for h in await standalone.wait_for(2)]
        assert [b["webhookEvent"] for b in alone] == ["comment_updated", "comment_deleted"]
        assert all("issue" not in b and b["comment"]["id"] == comment_id for b in alone)


async def test_fault_429_burst_looks_like_the_vendor(jira: Sim, pd: Sim) -> None:
    await jira.admin.put("/_sim/faults", json={"throttle_burst": 2})
    limited = [await jira.client.get("/priority") for _ in range(3)]
    assert [r.status_code for r in limited] == [429, 429, 200]
    assert limited[0].headers["retry-after"] == "1"
    assert limited[0].headers["x-ratelimit-remaining"] == "0"
    assert limited[0].json() == {"errorMessages": ["Rate limit exceeded."], "errors": {}}
    assert (await jira.admin.get("/_sim/faults")).json()["throttle_left"] == 0

    await pd.admin.put("/_sim/faults", json={"throttle_burst": 1})
    throttled = await pd.client.get("/incidents")
    assert throttled.status_code == 429
    assert throttled.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    assert throttled.headers["ratelimit-remaining"] == "0"
    assert int(throttled.headers["ratelimit-reset"]) > 0
    assert (await pd.client.get("/incidents")).status_code == 200
    assert (await pd.admin.put("/_sim/faults", json={"throttle_burst": -1})).status_code == 400
