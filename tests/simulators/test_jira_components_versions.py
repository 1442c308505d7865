"""Jira simulator: components and versions per project (seeded for OPS), settable on issues by
id or name on create and edit, validated as Jira does; `duedate` in `yyyy-MM-dd`. Contract
mode is on."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Sim

BASE_FIELDS = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Down"}


async def create(jira: Sim, **fields: Any) -> Any:
    return await jira.client.post("/issue", json={"fields": {**BASE_FIELDS, **fields}})


async def fields_of(jira: Sim, key: str) -> dict[str, Any]:
    fields: dict[str, Any] = (await jira.client.get(f"/issue/{key}")).json()["fields"]
    return fields


async def test_ops_has_seeded_components_and_versions(checked_jira: Sim) -> None:
    components = (await checked_jira.client.get("/project/OPS/components")).json()
    assert [c["name"] for c in components] == ["API", "Database", "Frontend"]
    assert components[0]["project"] == "OPS"
    assert components[0]["lead"]["name"] == "admin"
    versions = (await checked_jira.client.get("/project/OPS/versions")).json()
    assert [(v["name"], v["released"]) for v in versions] == [
        ("1.0", True),
        ("1.1", False),
        ("2.0", False),
    ]
    assert versions[0]["releaseDate"] == "2026-01-15"
    assert (await checked_jira.client.get("/project/NOPE/components")).status_code == 404


async def test_components_and_versions_are_set_by_id_or_name(checked_jira: Sim) -> None:
    jira = checked_jira
    api_id = (await jira.client.get("/project/OPS/components")).json()[0]["id"]
    resp = await create(
        jira,
        components=[{"id": api_id}, {"name": "database"}],  # names case-insensitive
        fixVersions=[{"name": "1.1"}],
        versions=[{"name": "1.0"}],
        duedate="2026-12-24",
    )
    assert resp.status_code == 201, resp.text
    key = resp.json()["key"]
    fields = await fields_of(jira, key)
    assert [c["name"] for c in fields["components"]] == ["API", "Database"]
    assert [v["name"] for v in fields["fixVersions"]] == ["1.1"]
    assert [v["name"] for v in fields["versions"]] == ["1.0"]
    assert fields["duedate"] == "2026-12-24"

    edit = {
        "update": {
            "components": [{"remove": {"name": "API"}}, {"add": {"name": "Frontend"}}],
            "fixVersions": [{"set": [{"name": "2.0"}]}],
        },
        "fields": {"duedate": None},
    }
    assert (await jira.client.put(f"/issue/{key}", json=edit)).status_code == 204
    fields = await fields_of(jira, key)
    assert [c["name"] for c in fields["components"]] == ["Database", "Frontend"]
    assert [v["name"] for v in fields["fixVersions"]] == ["2.0"]
    assert fields["duedate"] is None

    await jira.settled()
    hook = jira.receiver.bodies()[-1]
    items = [(i["field"], i["fromString"], i["toString"]) for i in hook["changelog"]["items"]]
    assert ("Component", "API", None) in items
    assert ("Component", None, "Frontend") in items
    assert ("Fix Version", "1.1", None) in items
    assert ("Fix Version", None, "2.0") in items
    assert ("duedate", "2026-12-24 00:00:00.0", None) in items


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"components": [{"name": "Bill"}]}, {"components": "Component name 'Bill' is not valid"}),
        ({"components": [{"id": "99999"}]}, {"components": "Component id '99999' is not valid"}),
        ({"fixVersions": [{"name": "9.9"}]}, {"fixVersions": "Version name '9.9' is not valid"}),
        ({"versions": [{"id": "4242"}]}, {"versions": "Version id '4242' is not valid"}),
        ({"duedate": "24/Dec/26"}, {"duedate": "Error parsing date string: 24/Dec/26"}),
        ({"duedate": "2026-02-30"}, {"duedate": "Error parsing date string: 2026-02-30"}),
        ({"duedate": 20261224}, {"duedate": "Operation value must be a string"}),
    ],
)  # fmt: skip
async def test_unknown_components_versions_and_bad_due_dates_are_refused(
    checked_jira: Sim, fields: dict[str, Any], errors: dict[str, str]
) -> None:
    resp = await create(checked_jira, **fields)
    assert resp.status_code == 400
    assert resp.json() == {"errorMessages": [], "errors": errors}
    key = (await create(checked_jira)).json()["key"]
    edited = await checked_jira.client.put(f"/issue/{key}", json={"fields": fields})
    assert edited.status_code == 400
    assert edited.json()["errors"] == errors


async def test_admins_create_components_and_versions(checked_jira: Sim) -> None:
    jira = checked_jira
    made = await jira.client.post(
        "/component", json={"name": "Billing", "project": "OPS", "leadUserName": "jdoe"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["lead"]["name"] == "jdoe"
    again = await jira.client.post("/component", json={"name": "billing", "project": "OPS"})
    assert again.status_code == 400
    assert again.json()["errors"] == {
        "name": "A component with the name billing already exists in this project."
    }
    version = await jira.client.post(
        "/version", json={"name": "3.0", "project": "OPS", "releaseDate": "2027-03-01"}
    )
    assert version.status_code == 201, version.text
    assert version.json()["releaseDate"] == "2027-03-01"
    dup = await jira.client.post("/version", json={"name": "3.0", "project": "OPS"})
    assert dup.json()["errors"] == {
        "name": "A version with this name already exists in this project."
    }
    resp = await create(jira, components=[{"name": "Billing"}], fixVersions=[{"name": "3.0"}])
    assert resp.status_code == 201, resp.text
    refused = await jira.client.post(
        "/component", json={"name": "X", "project": "OPS"}, auth=("jdoe", "jdoe")
    )
    assert refused.status_code == 403
    assert refused.json()["errorMessages"] == [
        "The user jdoe does not have permission to complete this operation."
    ]


async def test_the_project_shows_its_components_and_versions(checked_jira: Sim) -> None:
    project = (await checked_jira.client.get("/project/OPS")).json()
    assert [c["name"] for c in project["components"]] == ["API", "Database", "Frontend"]
    assert [v["name"] for v in project["versions"]] == ["1.0", "1.1", "2.0"]


async def test_createmeta_offers_the_projects_components_and_versions(checked_jira: Sim) -> None:
    resp = await checked_jira.client.get("/issue/createmeta/OPS/issuetypes/10002")
    fields = {f["fieldId"]: f for f in resp.json()["values"]}
    assert [c["name"] for c in fields["components"]["allowedValues"]] == [
        "API",
        "Database",
        "Frontend",
    ]
    assert [v["name"] for v in fields["fixVersions"]["allowedValues"]] == ["1.0", "1.1", "2.0"]
    assert fields["duedate"]["schema"] == {"type": "date", "system": "duedate"}
