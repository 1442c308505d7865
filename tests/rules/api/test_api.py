"""The admin API in PagerDuty's ``/rules`` shape, against live catalogs from fake writers."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from pdjira_common.requests import JiraNamed
from pdjira_devstack.nats_server import NatsServer

from rules.model.examples import catalogs_from, example_rules

from .conftest import AUTH, Api, FakeWriters, StoreFactory, make_api, make_config, until
from .test_loading import pd_rule

STATUS_ITEM = "$.rule.config.react_on_issue_status_change_config[0].jira_statuses[0]"


def body(**config: Any) -> dict[str, Any]:
    return {"rule": pd_rule(**config)}


async def test_create_get_put_delete(api: Api, writers: FakeWriters) -> None:
    created = await api.http.post(
        "/rules", json=body() | {"priority_map": {"P1": "Highest"}}, headers=AUTH
    )
    assert created.status_code == 200, created.text  # the spec says 200 for POST
    rule = created.json()["rule"]
    rule_id = rule["id"]
    assert rule["name"] == "Ops"
    assert rule["enabled"] is True
    assert rule["created_at"]
    assert rule["config"]["services"][0]["id"] == "PSVC1"
    assert created.json()["account"] == "acme"
    assert created.json()["instance"] == "dc1"
    assert created.json()["priority_map"] == {"P1": "Highest"}
    assert rule["pdjira"]["source"] == "api"

    got = await api.http.get(f"/rules/{rule_id}", headers=AUTH)
    assert got.status_code == 200
    assert got.json() == created.json()

    changed = body()
    changed["rule"]["name"] = "Ops renamed"
    put = await api.http.put(f"/rules/{rule_id}", json=changed, headers=AUTH)
    assert put.status_code == 200, put.text
    assert put.json()["rule"]["name"] == "Ops renamed"
    assert put.json()["rule"]["created_at"] == rule["created_at"]
    assert put.json()["priority_map"] == {}  # replaced, not merged
    assert [r.name for r in api.store.current()] == ["Ops renamed"]

    deleted = await api.http.delete(f"/rules/{rule_id}", headers=AUTH)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert api.store.current() == ()
    for response in (
        await api.http.get(f"/rules/{rule_id}", headers=AUTH),
        await api.http.put(f"/rules/{rule_id}", json=body(), headers=AUTH),
        await api.http.delete(f"/rules/{rule_id}", headers=AUTH),
    ):
        assert response.status_code == 404
        assert response.json() == {"error": {"message": "Record not found"}}


async def test_list_pagination(api: Api, writers: FakeWriters) -> None:
    ids = []
    for _i in range(5):
        created = await api.http.post("/rules", json=body(), headers=AUTH)
        assert created.status_code == 200, created.text
        ids.append(created.json()["rule"]["id"])
    expected = [r.id for r in api.store.current()]
    assert sorted(expected) == sorted(ids)

    first = (await api.http.get("/rules", params={"limit": 2}, headers=AUTH)).json()
    assert [r["id"] for r in first["rules"]] == expected[:2]
    assert (first["limit"], first["offset"], first["more"], first["total"]) == (2, 0, True, None)
    last = (
        await api.http.get(
            "/rules", params={"limit": 2, "offset": 4, "total": "true"}, headers=AUTH
        )
    ).json()
    assert [r["id"] for r in last["rules"]] == expected[4:]
    assert (last["limit"], last["offset"], last["more"], last["total"]) == (2, 4, False, 5)
    default = (await api.http.get("/rules", headers=AUTH)).json()
    assert default["limit"] == 25
    assert len(default["rules"]) == 5
    assert default["more"] is False
    listed = default["rules"][0]
    assert listed["pdjira"]["account"] == "acme"
    assert listed["pdjira"]["instance"] == "dc1"
    assert listed["pdjira"]["source"] == "api"
    assert "config" in listed
    assert listed["id"] == expected[0]

    for params, error in (
        ({"limit": 0}, "limit: must be between 1 and 100, got 0"),
        ({"limit": 101}, "limit: must be between 1 and 100, got 101"),
        ({"offset": -1}, "offset: must be at least 0, got -1"),
        ({"limit": "x"}, "limit: must be a whole number, got 'x'"),
    ):
        refused = await api.http.get("/rules", params=params, headers=AUTH)
        assert refused.status_code == 400
        assert refused.json() == {"error": {"message": "Invalid Input Provided", "errors": [error]}}


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "rules-admin-token"}]
)
async def test_wrong_or_missing_token_is_401(api: Api, headers: dict[str, str]) -> None:
    for response in (
        await api.http.get("/rules", headers=headers),
        await api.http.post("/rules", json=body(), headers=headers),
        await api.http.delete("/rules/x", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json() == {"error": {"message": "Authorization error"}}
    assert api.store.current() == ()


async def test_api_without_token_is_503(
    nc: Client, nats_server: NatsServer, make_store: StoreFactory
) -> None:
    config = make_config(nats_server.url, rules_service={})
    app = make_api(config, await make_store(), nc)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://rules"
    ) as http:
        response = await http.get("/rules", headers=AUTH)
    assert response.status_code == 503
    assert "set rules_service.admin_token" in response.json()["error"]["message"]


async def test_malformed_and_invalid_bodies(api: Api, writers: FakeWriters) -> None:
    for content in (b"{not json", b""):
        response = await api.http.post("/rules", content=content, headers=AUTH)
        assert response.status_code == 400
        assert response.json() == {"error": {"message": "Malformed json"}}
    missing = await api.http.post("/rules", json={"name": "x"}, headers=AUTH)
    assert missing.status_code == 400
    assert missing.json()["error"]["errors"] == ['$.rule: missing; send {"rule": {...}}']
    invalid = await api.http.post("/rules", json=body(services=[]), headers=AUTH)
    assert invalid.status_code == 400
    assert invalid.json() == {
        "error": {
            "message": "Invalid Input Provided",
            "errors": ["$.rule.config.services: Expected `array` of length >= 1"],
        }
    }
    unknown = await api.http.post("/rules", json=body() | {"account": "nope"}, headers=AUTH)
    assert unknown.json()["error"]["errors"] == [
        "$.account: unknown account 'nope'; configured: acme"
    ]
    assert api.store.current() == ()


async def test_refused_against_live_catalogs(api: Api, writers: FakeWriters) -> None:
    wrong = body()
    wrong["rule"]["config"]["react_on_issue_status_change_config"][0]["jira_statuses"] = [
        {"label": "Doen"}
    ]
    refused = await api.http.post("/rules", json=wrong, headers=AUTH)
    assert refused.status_code == 400
    assert refused.json()["error"]["errors"] == [
        f"{STATUS_ITEM}: status 'Doen' does not exist; statuses: To Do, In Progress, Done"
    ]
    # the writer's catalog changes: the same rule is accepted once Jira has the status
    writers.statuses = (*writers.statuses, JiraNamed(id="9", name="Doen"))
    accepted = await api.http.post("/rules", json=wrong, headers=AUTH)
    assert accepted.status_code == 200, accepted.text


async def test_responders_are_looked_up_in_pagerduty(api: Api, writers: FakeWriters) -> None:
    item = body()["rule"]["config"]["react_on_issue_status_change_config"][0]
    item["actions"] = [{"key": "pd_add_responders"}]
    item["actions_params"] = {
        "pd_add_responders": [
            {"id": "PUSER1", "type": "user_reference"},
            {"email": "pat@example.com", "type": "user_reference"},
            {"id": "PNOBODY", "type": "user_reference"},
        ]
    }
    wrong = body(react_on_issue_status_change_config=[item])
    refused = await api.http.post("/rules", json=wrong, headers=AUTH)
    assert refused.status_code == 400, refused.text
    [problem] = refused.json()["error"]["errors"]
    assert problem.startswith(
        "$.rule.config.react_on_issue_status_change_config[0].actions_params."
        "pd_add_responders[2]: PagerDuty user 'PNOBODY' does not exist"
    ), problem
    assert {"reads.pd.acme.user", "reads.pd.acme.users_by_email"} <= set(writers.asked)
    del item["actions_params"]["pd_add_responders"][2]
    accepted = await api.http.post("/rules", json=wrong, headers=AUTH)
    assert accepted.status_code == 200, accepted.text


async def test_required_create_field_is_named(api: Api, writers: FakeWriters) -> None:
    create = {
        "autocreate_issues": True,
        "autocreate_issues_config": [
            {
                "condition": {"pd_events": ["incident.trigger"]},
                "actions": [{"key": "jira_append_description"}],
                "actions_params": {"jira_append_description": "{{incident.title}}"},
            }
        ],
    }
    refused = await api.http.post("/rules", json=body(**create), headers=AUTH)
    assert refused.status_code == 400
    assert refused.json()["error"]["errors"] == [
        "$.rule.config.autocreate_issues_config[0]: project OPS issue type Task requires field "
        "'Team' (customfield_10010) on create; set it with a jira_field_set_customfield_10010 "
        "action or in field_templates"
    ]
    assert "reads.jira.dc1.createmeta" in writers.asked
    fixed = body(**create) | {"field_templates": {"customfield_10010": "SRE"}}
    accepted = await api.http.post("/rules", json=fixed, headers=AUTH)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["field_templates"] == {"customfield_10010": "SRE"}


async def test_writer_not_answering_is_503_and_nothing_is_stored(
    api: Api, writers: FakeWriters
) -> None:
    writers.silent.add("reads.jira.dc1.statuses")
    refused = await api.http.post("/rules", json=body(), headers=AUTH)
    assert refused.status_code == 503
    assert refused.json() == {
        "error": {
            "message": "Cannot validate against Jira and PagerDuty: jira-writer for instance "
            "dc1 did not answer reads.jira.dc1.statuses within 1 s; is it running?"
        }
    }
    writers.silent.clear()
    writers.failing["reads.pd.acme.services"] = "PagerDuty answered 401"
    failed = await api.http.post("/rules", json=body(), headers=AUTH)
    assert failed.status_code == 503
    assert (
        "pd-writer for account acme could not answer reads.pd.acme.services: PagerDuty "
        "answered 401" in failed.json()["error"]["message"]
    )
    await writers.stop()
    gone = await api.http.post("/rules", json=body(), headers=AUTH)
    assert gone.status_code == 503
    assert "did not answer reads.jira.dc1." in gone.json()["error"]["message"]
    assert api.store.current() == ()


async def test_max_rules(
    nc: Client, nats_server: NatsServer, make_store: StoreFactory, writers: FakeWriters
) -> None:
    config = make_config(nats_server.url, rules_service={"admin_token": "t", "max_rules": 2})
    store = await make_store()
    app = make_api(config, store, nc)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://rules"
    ) as http:
        auth = {"Authorization": "Bearer t"}
        for _ in range(2):
            assert (await http.post("/rules", json=body(), headers=auth)).status_code == 200
        refused = await http.post("/rules", json=body(), headers=auth)
    assert refused.status_code == 400
    assert refused.json()["error"]["errors"] == [
        "$: there are already 2 rules, the most allowed (rules_service.max_rules = 2); "
        "delete one first"
    ]
    assert len(store.current()) == 2


async def test_validate_reports_every_problem_and_stores_nothing(
    api: Api, writers: FakeWriters
) -> None:
    wrong = body()
    wrong["rule"]["config"]["react_on_issue_status_change_config"][0]["jira_statuses"] = [
        {"label": "Doen"}
    ]
    response = await api.http.post(
        "/rules/validate",
        json={"rules": [body(), wrong, {"rule": {"name": "x"}}, body() | {"resolution": "Nope"}]},
        headers=AUTH,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "problems": [
            {
                "index": 1,
                "path": STATUS_ITEM,
                "message": "status 'Doen' does not exist; statuses: To Do, In Progress, Done",
            },
            {"index": 2, "path": "$.rule", "message": "Object missing required field `config`"},
            {
                "index": 3,
                "path": "$.resolution",
                "message": "resolution 'Nope' does not exist; resolutions: Done, Won't Do",
            },
        ]
    }
    assert api.store.current() == ()
    bad = await api.http.post("/rules/validate", json={"rule": {}}, headers=AUTH)
    assert bad.status_code == 400


async def test_write_is_seen_by_another_replica(
    api: Api, writers: FakeWriters, make_store: StoreFactory
) -> None:
    other = await make_store()
    created = await api.http.post("/rules", json=body(), headers=AUTH)
    rule_id = created.json()["rule"]["id"]
    await until(lambda: other.get(rule_id) is not None, what="the create there", timeout=1.0)
    renamed = body()
    renamed["rule"]["name"] = "Renamed"
    put = await api.http.put(f"/rules/{rule_id}", json=renamed, headers=AUTH)
    assert put.status_code == 200

    def renamed_there() -> bool:
        rule = other.get(rule_id)
        return rule is not None and rule.name == "Renamed"

    await until(renamed_there, what="the rename there", timeout=1.0)
    await api.http.delete(f"/rules/{rule_id}", headers=AUTH)
    await until(lambda: other.get(rule_id) is None, what="the delete there", timeout=1.0)


EXAMPLES = example_rules()


@pytest.mark.parametrize(("where", "rule"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
async def test_every_pagerduty_example_rule_imports(
    api: Api, writers: FakeWriters, where: str, rule: dict[str, Any]
) -> None:
    jira, pd = catalogs_from(rule)
    writers.use_catalogs(jira, pd)
    exported = copy.deepcopy(rule)  # unchanged: id, label, html_url... as PagerDuty has them
    created = await api.http.post("/rules", json={"rule": exported}, headers=AUTH)
    assert created.status_code == 200, (where, created.text)
    got = created.json()["rule"]
    assert got["name"] == rule["name"]
    assert got["config"]["projects"][0]["key"] == rule["config"]["projects"][0]["key"]
    listed = (await api.http.get("/rules", headers=AUTH)).json()["rules"]
    assert [r["id"] for r in listed] == [got["id"]]
    # what we list imports again, unchanged
    again = await api.http.post("/rules", json={"rule": listed[0]}, headers=AUTH)
    assert again.status_code == 200, again.text
    assert again.json()["rule"]["config"] == got["config"]


def test_examples_were_found() -> None:
    assert len(EXAMPLES) >= 3
