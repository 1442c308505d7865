"""Jira simulator: REST edits and creates fire Server-shaped webhooks with the issue's full
fields and one changelog item per changed field."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Sim

CHANGELOG_ITEM_KEYS = {"field", "fieldtype", "from", "fromString", "to", "toString"}


async def create(jira: Sim, **fields: Any) -> str:
    body = {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": "Checkout is down",
            "labels": ["pagerduty"],
            "description": "PagerDuty incident #1",
            **fields,
        }
    }
    resp = await jira.client.post("/issue", json=body)
    assert resp.status_code == 201, resp.text
    key: str = resp.json()["key"]
    return key


async def fields_of(jira: Sim, key: str) -> dict[str, Any]:
    resp = await jira.client.get(f"/issue/{key}")
    assert resp.status_code == 200, resp.text
    fields: dict[str, Any] = resp.json()["fields"]
    return fields


async def settled(jira: Sim, count: int) -> list[dict[str, Any]]:
    """Exactly ``count`` webhooks arrived, once every queued one was delivered."""
    await jira.settled()
    bodies: list[dict[str, Any]] = jira.receiver.bodies()
    assert len(bodies) == count, [b.get("issue_event_type_name") for b in bodies]
    return bodies


async def test_create_fires_issue_created_with_the_full_fields(jira: Sim) -> None:
    key = await create(jira, priority={"name": "High"}, customfield_10102="checkout")

    (hook,) = await settled(jira, 1)

    assert hook["webhookEvent"] == "jira:issue_created"
    assert hook["issue_event_type_name"] == "issue_created"
    assert hook["user"]["name"] == "admin"
    assert hook["issue"]["key"] == key
    assert "changelog" not in hook
    fields = hook["issue"]["fields"]
    assert fields == await fields_of(jira, key)  # every field, as GET /issue returns them
    assert fields["priority"]["name"] == "High"
    assert fields["labels"] == ["pagerduty"]
    assert fields["description"] == "PagerDuty incident #1"
    assert fields["customfield_10102"] == "checkout"
    assert fields["reporter"]["name"] == "admin"
    for name in ("status", "issuetype", "project", "assignee", "created", "updated", "comment"):
        assert name in fields


@pytest.mark.parametrize(
    ("body", "event_type", "item"),
    [
        pytest.param(
            {"fields": {"priority": {"name": "Highest"}}},
            "issue_updated",
            {"field": "priority", "fieldtype": "jira", "from": "3", "fromString": "Medium",
             "to": "1", "toString": "Highest"},
            id="priority-by-name",
        ),
        pytest.param(
            {"fields": {"priority": {"id": "5"}}},
            "issue_updated",
            {"field": "priority", "fieldtype": "jira", "from": "3", "fromString": "Medium",
             "to": "5", "toString": "Lowest"},
            id="priority-by-id",
        ),
        pytest.param(
            {"fields": {"labels": ["pagerduty", "sev1"]}},
            "issue_updated",
            {"field": "labels", "fieldtype": "jira", "from": None, "fromString": "pagerduty",
             "to": None, "toString": "pagerduty sev1"},
            id="labels-set",
        ),
        pytest.param(
            {"update": {"labels": [{"add": "sev1"}, {"remove": "pagerduty"}]}},
            "issue_updated",
            {"field": "labels", "fieldtype": "jira", "from": None, "fromString": "pagerduty",
             "to": None, "toString": "sev1"},
            id="labels-verbs",
        ),
        pytest.param(
            {"fields": {"assignee": {"name": "jdoe"}}},
            "issue_assigned",
            {"field": "assignee", "fieldtype": "jira", "from": None, "fromString": None,
             "to": "JIRAUSER10100", "toString": "John Doe"},
            id="assignee",
        ),
        pytest.param(
            {"fields": {"description": "Root cause: disk full"}},
            "issue_updated",
            {"field": "description", "fieldtype": "jira", "from": None,
             "fromString": "PagerDuty incident #1", "to": None,
             "toString": "Root cause: disk full"},
            id="description",
        ),
        pytest.param(
            {"update": {"description": [{"set": "Root cause: disk full"}]}},
            "issue_updated",
            {"field": "description", "fieldtype": "jira", "from": None,
             "fromString": "PagerDuty incident #1", "to": None,
             "toString": "Root cause: disk full"},
            id="description-verb",
        ),
        pytest.param(
            {"fields": {"customfield_10102": "payments"}},
            "issue_updated",
            {"field": "Impacted Service", "fieldtype": "custom", "from": None,
             "fromString": None, "to": None, "toString": "payments"},
            id="custom-field-by-display-name",
        ),
    ],
)  # fmt: skip
async def test_rest_edit_fires_issue_updated_with_one_item_per_changed_field(
    jira: Sim, body: dict[str, Any], event_type: str, item: dict[str, Any]
) -> None:
    key = await create(jira)

    resp = await jira.client.put(f"/issue/{key}", json=body)

    assert resp.status_code == 204, resp.text
    created, updated = await settled(jira, 2)
    assert created["webhookEvent"] == "jira:issue_created"
    assert updated["webhookEvent"] == "jira:issue_updated"
    assert updated["issue_event_type_name"] == event_type
    assert updated["user"]["name"] == "admin"
    assert updated["changelog"]["items"] == [item]
    assert set(updated["changelog"]["items"][0]) == CHANGELOG_ITEM_KEYS  # no fieldId on Server
    assert updated["changelog"]["id"]
    # The issue after the change, whole.
    assert updated["issue"]["fields"] == await fields_of(jira, key)


async def test_one_edit_of_four_fields_is_one_event_with_four_items(jira: Sim) -> None:
    key = await create(jira)

    resp = await jira.client.put(
        f"/issue/{key}",
        json={
            "fields": {
                "priority": {"name": "High"},
                "labels": ["sev2"],
                "assignee": {"name": "jdoe"},
                "description": "new",
            }
        },
    )

    assert resp.status_code == 204
    _, updated = await settled(jira, 2)
    items = updated["changelog"]["items"]
    assert sorted(i["field"] for i in items) == ["assignee", "description", "labels", "priority"]
    assert updated["issue_event_type_name"] == "issue_updated"  # not only an assignment
    fields = updated["issue"]["fields"]
    assert (fields["priority"]["name"], fields["labels"], fields["assignee"]["name"]) == (
        "High",
        ["sev2"],
        "jdoe",
    )
    assert fields["description"] == "new"


async def test_assignee_endpoint_fires_issue_assigned(jira: Sim) -> None:
    key = await create(jira)

    assign = await jira.client.put(f"/issue/{key}/assignee", json={"name": "jdoe"})
    unassign = await jira.client.put(f"/issue/{key}/assignee", json={"name": None})

    assert assign.status_code == unassign.status_code == 204
    _, assigned, unassigned = await settled(jira, 3)
    assert (
        assigned["issue_event_type_name"]
        == unassigned["issue_event_type_name"]
        == ("issue_assigned")
    )
    assert assigned["changelog"]["items"] == [
        {"field": "assignee", "fieldtype": "jira", "from": None, "fromString": None,
         "to": "JIRAUSER10100", "toString": "John Doe"}
    ]  # fmt: skip
    assert unassigned["changelog"]["items"] == [
        {"field": "assignee", "fieldtype": "jira", "from": "JIRAUSER10100",
         "fromString": "John Doe", "to": None, "toString": None}
    ]  # fmt: skip
    assert unassigned["issue"]["fields"]["assignee"] is None


async def test_an_edit_that_changes_nothing_fires_nothing(jira: Sim) -> None:
    key = await create(jira, priority={"name": "High"})

    resp = await jira.client.put(
        f"/issue/{key}",
        json={"fields": {"priority": {"id": "2"}, "labels": ["pagerduty"]}},
    )

    assert resp.status_code == 204
    (only,) = await settled(jira, 1)
    assert only["webhookEvent"] == "jira:issue_created"
