"""Jira Server/DC simulator against a real uvicorn server and a real webhook receiver."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pdjira_simulators.testing import WebhookReceiver, verify_jira_signature

from .conftest import JIRA_PAT, Sim


async def create(jira: Sim, summary: str = "Checkout is down", **fields: Any) -> dict[str, Any]:
    body = {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": summary,
            **fields,
        }
    }
    resp = await jira.client.post("/issue", json=body)
    assert resp.status_code == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


async def get(jira: Sim, key: str) -> dict[str, Any]:
    resp = await jira.client.get(f"/issue/{key}")
    assert resp.status_code == 200, resp.text
    issue: dict[str, Any] = resp.json()
    return issue


def events(rx: WebhookReceiver) -> list[tuple[str, str | None]]:
    return [(b["webhookEvent"], b.get("issue_event_type_name")) for b in rx.bodies()]


async def test_server_info_is_anonymous_and_shaped_for_clients(jira: Sim) -> None:
    resp = await jira.admin.get("/rest/api/2/serverInfo")
    assert resp.status_code == 200
    info = resp.json()
    assert info["versionNumbers"] == [10, 3, 4]
    assert info["deploymentType"] == "Server"
    assert info["version"] == "10.3.4"
    assert info["baseUrl"] == jira.base_url
    for key in ("buildNumber", "serverTime", "serverTitle"):
        assert key in info


async def test_auth_basic_and_bearer(jira: Sim) -> None:
    anonymous = await jira.admin.get("/rest/api/2/myself")
    assert anonymous.status_code == 401
    assert anonymous.json()["errorMessages"]
    wrong = await jira.admin.get("/rest/api/2/myself", auth=("admin", "nope"))
    assert wrong.status_code == 401
    assert wrong.headers["x-seraph-loginreason"] == "AUTHENTICATED_FAILED"
    bad_pat = await jira.admin.get("/rest/api/2/myself", headers={"Authorization": "Bearer nope"})
    assert bad_pat.status_code == 401
    pat = await jira.admin.get(
        "/rest/api/2/myself", headers={"Authorization": f"Bearer {JIRA_PAT}"}
    )
    assert pat.status_code == 200
    assert pat.json()["name"] == "admin"
    assert pat.json()["key"] == "JIRAUSER10000"
    jdoe = await jira.admin.get("/rest/api/2/myself", auth=("jdoe", "jdoe"))
    assert jdoe.json()["emailAddress"] == "jdoe@example.com"


async def test_create_get_and_created_webhook(jira: Sim) -> None:
    created = await create(
        jira, labels=["pagerduty"], priority={"name": "High"}, description="from PD"
    )
    assert created["key"] == "OPS-1"
    assert created["self"] == f"{jira.base_url}/rest/api/2/issue/{created['id']}"
    # `self` is reachable.
    via_self = await jira.client.get(created["self"])
    assert via_self.status_code == 200
    issue = via_self.json()
    fields = issue["fields"]
    assert fields["summary"] == "Checkout is down"
    assert fields["status"]["name"] == "To Do"
    assert fields["status"]["statusCategory"]["key"] == "new"
    assert fields["issuetype"] == {**fields["issuetype"], "id": "10002", "name": "Task"}
    assert fields["project"]["key"] == "OPS"
    assert fields["priority"]["name"] == "High"
    assert fields["labels"] == ["pagerduty"]
    assert fields["resolution"] is None
    assert fields["reporter"]["name"] == "admin"
    assert fields["assignee"] is None
    [hook] = await jira.receiver.wait_for(1)
    assert verify_jira_signature(jira.secret, hook.body, hook.headers["x-hub-signature"])
    payload = hook.json()
    assert payload["webhookEvent"] == "jira:issue_created"
    assert payload["issue_event_type_name"] == "issue_created"
    assert payload["user"]["name"] == "admin"
    assert payload["issue"]["key"] == "OPS-1"
    assert payload["issue"]["fields"]["labels"] == ["pagerduty"]
    assert isinstance(payload["timestamp"], int)


async def test_create_validation_errors(jira: Sim) -> None:
    no_summary = await jira.client.post(
        "/issue", json={"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}}}
    )
    assert no_summary.status_code == 400
    assert no_summary.json() == {
        "errorMessages": [],
        "errors": {"summary": "You must specify a summary of the issue."},
    }
    bad_project = await jira.client.post(
        "/issue",
        json={
            "fields": {"project": {"key": "NOPE"}, "issuetype": {"name": "Task"}, "summary": "x"}
        },
    )
    assert bad_project.status_code == 400
    assert "project" in bad_project.json()["errors"]
    bad_type = await jira.client.post(
        "/issue",
        json={"fields": {"project": {"id": "10000"}, "issuetype": {"id": "999"}, "summary": "x"}},
    )
    assert bad_type.status_code == 400
    assert "issuetype" in bad_type.json()["errors"]
    newline = await jira.client.post(
        "/issue",
        json={
            "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "a\nb"}
        },
    )
    assert newline.status_code == 400
    unknown_field = await jira.client.post(
        "/issue",
        json={
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Bug"},
                "summary": "x",
                "status": {"name": "Done"},
            }
        },
    )
    assert unknown_field.status_code == 400
    assert "status" in unknown_field.json()["errors"]
    missing = await jira.client.get("/issue/OPS-999")
    assert missing.status_code == 404
    assert missing.json() == {"errorMessages": ["Issue Does Not Exist"], "errors": {}}


async def test_transitions_only_from_current_status(jira: Sim) -> None:
    created = await create(jira)
    key = created["key"]
    resp = await jira.client.get(
        f"/issue/{key}/transitions", params={"expand": "transitions.fields"}
    )
    transitions = resp.json()["transitions"]
    assert {(t["id"], t["name"], t["to"]["name"]) for t in transitions} == {
        ("11", "Start Progress", "In Progress"),
        ("21", "Done", "Done"),
    }
    done = next(t for t in transitions if t["id"] == "21")
    assert done["fields"]["resolution"]["required"] is False
    assert done["to"]["statusCategory"]["key"] == "done"

    invalid = await jira.client.post(f"/issue/{key}/transitions", json={"transition": {"id": "31"}})
    assert invalid.status_code == 400
    assert invalid.json() == {
        "errorMessages": ["Transition id '31' is not valid for this issue."],
        "errors": {},
    }
    not_int = await jira.client.post(
        f"/issue/{key}/transitions", json={"transition": {"id": "abc"}}
    )
    assert not_int.json()["errorMessages"] == ["'transition' identifier must be an integer"]

    ok = await jira.client.post(
        f"/issue/{key}/transitions", json={"transition": {"id": 11}, "fields": {}}
    )
    assert ok.status_code == 204
    assert ok.content == b""
    ok = await jira.client.post(f"/issue/{key}/transitions", json={"transition": {"id": "31"}})
    assert ok.status_code == 204
    issue = await get(jira, key)
    assert issue["fields"]["status"]["name"] == "Done"
    assert issue["fields"]["resolution"]["name"] == "Done"  # set by the Done transition
    assert issue["fields"]["resolutiondate"] is not None

    reopen = await jira.client.post(f"/issue/{key}/transitions", json={"transition": {"id": "41"}})
    assert reopen.status_code == 204
    issue = await get(jira, key)
    assert issue["fields"]["status"]["name"] == "To Do"
    assert issue["fields"]["resolution"] is None

    hooks = await jira.receiver.wait_for(4)
    assert events(jira.receiver) == [
        ("jira:issue_created", "issue_created"),
        ("jira:issue_updated", "issue_work_started"),
        ("jira:issue_updated", "issue_resolved"),
        ("jira:issue_updated", "issue_reopened"),
    ]
    resolved = hooks[2].json()
    assert resolved["changelog"]["items"] == [
        {
            "field": "status",
            "fieldtype": "jira",
            "from": "3",
            "fromString": "In Progress",
            "to": "10001",
            "toString": "Done",
        },
        {
            "field": "resolution",
            "fieldtype": "jira",
            "from": None,
            "fromString": None,
            "to": "10000",
            "toString": "Done",
        },
    ]
    assert resolved["user"]["name"] == "admin"
    assert resolved["issue"]["fields"]["status"]["name"] == "Done"
    reopened_items = hooks[3].json()["changelog"]["items"]
    assert reopened_items[1]["field"] == "resolution"
    assert reopened_items[1]["to"] is None


async def test_explicit_resolution_and_field_not_on_screen(jira: Sim) -> None:
    key = (await create(jira))["key"]
    off_screen = await jira.client.post(
        f"/issue/{key}/transitions",
        json={"transition": {"id": "11"}, "fields": {"resolution": {"name": "Done"}}},
    )
    assert off_screen.status_code == 400
    assert "resolution" in off_screen.json()["errors"]
    assert (await get(jira, key))["fields"]["status"]["name"] == "To Do"  # untouched
    wont_do = await jira.client.post(
        f"/issue/{key}/transitions",
        json={"transition": {"id": "21"}, "fields": {"resolution": {"name": "Won't Do"}}},
    )
    assert wont_do.status_code == 204
    assert (await get(jira, key))["fields"]["resolution"]["name"] == "Won't Do"


async def test_installed_workflow_with_required_field(jira: Sim) -> None:
    resp = await jira.admin.put(
        "/_sim/workflow",
        json={
            "project": "OPS",
            "issuetype": "Incident",
            "statuses": [{"name": "Triage", "category": "new"}, "In Progress", "Review", "Done"],
            "initial_status": "Triage",
            "transitions": [
                {"id": "101", "name": "Investigate", "from": ["Triage"], "to": "In Progress"},
                {"id": "102", "name": "Submit", "from": ["In Progress"], "to": "Review"},
                {
                    "id": "103",
                    "name": "Close",
                    "from": ["Review"],
                    "to": "Done",
                    "fields": {
                        "resolution": {"required": True},
                        "customfield_10100": {"required": True},
                    },
                    "event": "issue_closed",
                },
                {"id": "104", "name": "Back to triage", "to": "Triage"},
            ],
        },
    )
    assert resp.status_code == 200, resp.text
    key = (await create(jira, issuetype={"name": "Incident"}))["key"]
    issue = await get(jira, key)
    assert issue["fields"]["status"]["name"] == "Triage"
    task = await create(jira)  # other issue types keep the default workflow
    assert (await get(jira, task["key"]))["fields"]["status"]["name"] == "To Do"

    first = (await jira.client.get(f"/issue/{key}/transitions")).json()["transitions"]
    assert [t["id"] for t in first] == ["101"]  # global "back to triage" not from Triage
    for tid in ("101", "102"):
        assert (
            await jira.client.post(f"/issue/{key}/transitions", json={"transition": {"id": tid}})
        ).status_code == 204
    meta = (
        await jira.client.get(f"/issue/{key}/transitions", params={"expand": "transitions.fields"})
    ).json()
    close = next(t for t in meta["transitions"] if t["id"] == "103")
    assert close["fields"]["customfield_10100"]["required"] is True
    assert next(t for t in meta["transitions"] if t["id"] == "104")["isGlobal"] is True
    missing = await jira.client.post(
        f"/issue/{key}/transitions",
        json={"transition": {"id": "103"}, "fields": {"resolution": {"name": "Done"}}},
    )
    assert missing.status_code == 400
    assert missing.json()["errors"] == {"customfield_10100": "Root Cause is required."}
    ok = await jira.client.post(
        f"/issue/{key}/transitions",
        json={
            "transition": {"id": "103"},
            "fields": {"resolution": {"name": "Done"}, "customfield_10100": "disk full"},
        },
    )
    assert ok.status_code == 204
    issue = await get(jira, key)
    assert issue["fields"]["status"]["name"] == "Done"
    assert issue["fields"]["customfield_10100"] == "disk full"
    await jira.receiver.wait_for(5)
    assert jira.receiver.bodies()[-1]["issue_event_type_name"] == "issue_closed"


async def test_edit_issue_changelog_and_no_event_without_change(jira: Sim) -> None:
    key = (await create(jira, labels=["a"]))["key"]
    resp = await jira.client.put(
        f"/issue/{key}",
        json={
            "fields": {
                "priority": {"id": "1"},
                "labels": ["a", "b"],
                "summary": "New title",
                "assignee": {"name": "jdoe"},
            }
        },
    )
    assert resp.status_code == 204
    same = await jira.client.put(
        f"/issue/{key}", json={"fields": {"priority": {"name": "Highest"}}}
    )
    assert same.status_code == 204
    bad = await jira.client.put(
        f"/issue/{key}", json={"fields": {"summary": "half applied?", "priority": {"name": "Nope"}}}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"].keys() == {"priority"}
    assert (await get(jira, key))["fields"]["summary"] == "New title"  # all or nothing
    await jira.settled()
    hooks = jira.receiver.received
    assert len(hooks) == 2
    items = {i["field"]: i for i in hooks[1].json()["changelog"]["items"]}
    assert items["priority"] == {
        "field": "priority",
        "fieldtype": "jira",
        "from": "3",
        "fromString": "Medium",
        "to": "1",
        "toString": "Highest",
    }
    assert items["labels"]["fromString"] == "a"
    assert items["labels"]["toString"] == "a b"
    assert items["summary"]["toString"] == "New title"
    assert items["assignee"]["to"] == "JIRAUSER10100"
    assert items["assignee"]["toString"] == "John Doe"
    assert all("fieldId" not in i for i in items.values())
    assert hooks[1].json()["issue_event_type_name"] == "issue_updated"


async def test_comments_send_issue_commented(jira: Sim) -> None:
    key = (await create(jira))["key"]
    resp = await jira.client.post(f"/issue/{key}/comment", json={"body": "Synced from PD"})
    assert resp.status_code == 201
    comment = resp.json()
    assert comment["body"] == "Synced from PD"
    assert comment["author"]["name"] == "admin"
    assert comment["self"].endswith(f"/comment/{comment['id']}")
    listed = (await jira.client.get(f"/issue/{key}/comment")).json()
    assert listed["total"] == 1
    human = await jira.admin.post(f"/_sim/issues/{key}/comment", json={"body": "from UI"})
    assert human.status_code == 201
    hooks = await jira.receiver.wait_for(3)
    commented = hooks[1].json()
    assert commented["webhookEvent"] == "jira:issue_updated"
    assert commented["issue_event_type_name"] == "issue_commented"
    assert commented["comment"]["id"] == comment["id"]
    assert commented["issue"]["key"] == key
    assert hooks[2].json()["user"]["name"] == "jdoe"  # default person in the UI


async def test_sim_transition_as_a_person(jira: Sim) -> None:
    key = (await create(jira))["key"]
    unreachable = await jira.admin.post(f"/_sim/issues/{key}/transition", json={"status": "To Do"})
    assert unreachable.status_code == 400
    resp = await jira.admin.post(
        f"/_sim/issues/{key}/transition", json={"status": "Done", "as_user": "jdoe"}
    )
    assert resp.status_code == 200
    assert resp.json()["fields"]["status"]["name"] == "Done"
    hooks = await jira.receiver.wait_for(2)
    assert hooks[1].json()["user"]["name"] == "jdoe"
    by_id = await jira.admin.post(f"/_sim/issues/{key}/transition", json={"transition_id": "41"})
    assert by_id.json()["fields"]["status"]["name"] == "To Do"


async def test_search_jql_subset(jira: Sim) -> None:
    a = await create(jira, "alpha", labels=["pagerduty", "sev1"])
    b = await create(jira, "beta", labels=["other"], priority={"name": "Highest"})
    c = await create(jira, "gamma", issuetype={"name": "Bug"})
    await jira.client.post(f"/issue/{c['key']}/transitions", json={"transition": {"id": "21"}})

    async def keys(query: str, **params: Any) -> list[str]:
        resp = await jira.client.get("/search", params={"jql": query, **params})
        assert resp.status_code == 200, resp.text
        return [i["key"] for i in resp.json()["issues"]]

    assert await keys("project = OPS") == [a["key"], b["key"], c["key"]]
    assert await keys("labels = pagerduty") == [a["key"]]
    assert await keys("labels != pagerduty") == [b["key"]]  # empty labels never match !=
    assert await keys('status = "Done"') == [c["key"]]
    assert await keys("status in ('To Do', Done) AND issuetype = Bug") == [c["key"]]
    assert await keys(f"key = {b['key']} AND (labels = other OR priority = Low)") == [b["key"]]
    assert await keys("statusCategory = done OR priority = Highest ORDER BY key DESC") == [
        c["key"],
        b["key"],
    ]
    assert await keys("labels is EMPTY") == [c["key"]]
    # Words, not substrings (Jira's text index): "alp" is no word of "alpha"; "alp*" is.
    assert await keys("summary ~ alp") == []
    assert await keys('summary ~ "alp*"') == [a["key"]]
    assert await keys("resolution = Done") == [c["key"]]
    assert await keys("updated >= -1d") == [a["key"], b["key"], c["key"]]
    # Jira's NOT is the negated operator: NOT labels in (x) skips issues without labels.
    assert await keys("NOT labels in (pagerduty)") == [b["key"]]

    page = (
        await jira.client.get(
            "/search", params={"jql": "project = OPS", "startAt": 1, "maxResults": 1}
        )
    ).json()
    assert (page["startAt"], page["maxResults"], page["total"]) == (1, 1, 3)
    assert [i["key"] for i in page["issues"]] == [b["key"]]
    posted = await jira.client.post("/search", json={"jql": "labels = sev1", "fields": ["summary"]})
    assert posted.json()["issues"][0]["fields"] == {"summary": "alpha"}

    for bad in (
        "status = Nope",
        "foo = bar",
        "project = OPS AND",
        "assignee = noSuchFunction()",
        "labels WAS sev1",
        "key = OPS-999",
    ):
        resp = await jira.client.get("/search", params={"jql": bad})
        assert resp.status_code == 400, bad
        assert resp.json()["errorMessages"], bad


async def test_webhook_failure_is_recorded_and_not_retried(
    receiver: WebhookReceiver, jira: Sim
) -> None:
    receiver.statuses = [500]
    await create(jira)
    await jira.settled()  # one attempt: Jira DC never retries
    assert len(receiver.received) == 1
    deliveries = (await jira.admin.get("/_sim/deliveries")).json()["deliveries"]
    assert [(d["status_code"], d["attempt"]) for d in deliveries] == [(500, 1)]
    assert deliveries[0]["issue_key"] == "OPS-1"


async def test_webhook_registration_apis_and_jql_filter(jira: Sim) -> None:
    async with WebhookReceiver() as other:
        old = await jira.admin.post(
            "/rest/webhooks/1.0/webhook",
            auth=("admin", "admin"),
            json={
                "name": "pd",
                "url": other.url + "/${issue.key}",
                "events": ["jira:issue_created"],
                "filters": {"issue-related-events-section": "labels = pagerduty"},
            },
        )
        assert old.status_code == 201
        assert old.json()["self"].startswith(f"{jira.base_url}/rest/webhooks/1.0/webhook/")
        new = await jira.admin.get("/rest/jira-webhook/1.0/webhooks", auth=("admin", "admin"))
        assert {w["name"] for w in new.json()} >= {"pd"}
        bad = await jira.admin.post(
            "/rest/jira-webhook/1.0/webhooks",
            auth=("admin", "admin"),
            json={
                "name": "x",
                "url": other.url,
                "events": ["jira:issue_created"],
                "filters": {"issue-related-events-section": "status = = x"},
            },
        )
        assert bad.status_code == 400
        # Fields are checked as Jira checks them: a custom field by its name is fine, an
        # unknown field is refused.
        for jql, status in (('"Root Cause" ~ disk', 201), ("nosuchfield = x", 400)):
            answer = await jira.admin.post(
                "/rest/jira-webhook/1.0/webhooks",
                auth=("admin", "admin"),
                json={
                    "name": "fields",
                    "url": other.url + "/unused",
                    "events": ["jira:issue_deleted"],
                    "filters": {"issue-related-events-section": jql},
                },
            )
            assert answer.status_code == status, (jql, answer.text)
        await create(jira, "not matching")
        await create(jira, "matching", labels=["pagerduty"])
        [hook] = await other.wait_for(1)
        assert hook.path == "/webhook/OPS-2"
        assert hook.json()["issue"]["fields"]["summary"] == "matching"
        assert "x-hub-signature" not in hook.headers  # registered without a secret
        reg_id = old.json()["self"].rsplit("/", 1)[1]
        deleted = await jira.admin.delete(
            f"/rest/jira-webhook/1.0/webhooks/{reg_id}", auth=("admin", "admin")
        )
        assert deleted.status_code == 204


async def test_request_log_names_the_user(jira: Sim) -> None:
    key = (await create(jira))["key"]
    await jira.admin.get(f"/rest/api/2/issue/{key}", auth=("jdoe", "jdoe"))
    await jira.admin.get(f"/rest/api/2/issue/{key}")
    log = (await jira.admin.get("/_sim/requests")).json()["requests"]
    assert [(r["method"], r["status"], r["user"]) for r in log] == [
        ("POST", 201, "admin"),
        ("GET", 200, "jdoe"),
        ("GET", 401, None),
    ]
    assert log[0]["path"] == "/rest/api/2/issue"


async def test_response_delay_leaves_write_done_but_unacknowledged(jira: Sim) -> None:
    await jira.admin.put(
        "/_sim/faults", json={"response_delay_ms": 1000, "paths": ["/rest/api/2/issue"]}
    )
    with pytest.raises(httpx.ReadTimeout):
        await jira.client.post(
            "/issue",
            json={
                "fields": {
                    "project": {"key": "OPS"},
                    "issuetype": {"name": "Task"},
                    "summary": "slow",
                }
            },
            timeout=0.3,
        )
    # The call is on record as done the moment Jira did the work, while its answer is still
    # held back: a test that saw the write's effect finds the call that made it.
    log = (await jira.admin.get("/_sim/requests")).json()["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("POST", "/rest/api/2/issue", 201)
    ]
    await jira.admin.delete("/_sim/faults")
    state = (await jira.admin.get("/_sim/state")).json()
    assert [i["fields"]["summary"] for i in state["issues"]] == ["slow"]
    await jira.admin.put("/_sim/faults", json={"error_rate": 1.0})
    assert (await jira.client.get("/priority")).status_code == 503
    assert (await jira.admin.get("/_sim/state")).status_code == 200


async def test_catalog_endpoints(jira: Sim) -> None:
    priorities = (await jira.client.get("/priority")).json()
    assert [(p["id"], p["name"]) for p in priorities] == [
        ("1", "Highest"),
        ("2", "High"),
        ("3", "Medium"),
        ("4", "Low"),
        ("5", "Lowest"),
    ]
    statuses = {s["name"]: s for s in (await jira.client.get("/status")).json()}
    assert statuses["Review"]["id"] == "10100"
    assert statuses["Review"]["statusCategory"]["key"] == "indeterminate"
    project = (await jira.client.get("/project/OPS")).json()
    assert (project["id"], project["name"]) == ("10000", "Operations")
    assert {t["name"] for t in project["issueTypes"]} == {"Task", "Bug", "Incident"}
    assert (await jira.client.get("/project/NOPE")).status_code == 404
    fields = {f["id"]: f for f in (await jira.client.get("/field")).json()}
    assert fields["customfield_10100"]["custom"] is True
    users = (await jira.client.get("/user/search", params={"username": "jdoe"})).json()
    assert [(u["name"], u["key"]) for u in users] == [("jdoe", "JIRAUSER10100")]


async def test_update_verbs_and_delete(jira: Sim) -> None:
    key = (await create(jira, labels=["a", "b"]))["key"]
    resp = await jira.client.put(
        f"/issue/{key}",
        json={
            "update": {
                "labels": [{"add": "c"}, {"remove": "a"}],
                "comment": [{"add": {"body": "via update"}}],
            }
        },
    )
    assert resp.status_code == 204
    issue = await get(jira, key)
    assert issue["fields"]["labels"] == ["b", "c"]
    assert [c["body"] for c in issue["fields"]["comment"]["comments"]] == ["via update"]
    assert (await jira.client.delete(f"/issue/{key}")).status_code == 204
    assert (await jira.client.get(f"/issue/{key}")).status_code == 404
    await jira.settled()
    # One event for the edit, its comment included (as Jira Server sends it).
    assert events(jira.receiver) == [
        ("jira:issue_created", "issue_created"),
        ("jira:issue_updated", "issue_updated"),
        ("jira:issue_deleted", "issue_deleted"),
    ]
    assert jira.receiver.bodies()[1]["comment"]["body"] == "via update"
