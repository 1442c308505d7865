"""The simple ``rules:`` of the config, compiled into PagerDuty-style rules: loaded and checked
like ``pagerduty_rules`` (problems named at the simple rule's own settings), stored and listed
under their names, and decided first, in the file's order."""

from __future__ import annotations

from typing import Any

import pytest
from nats.aio.client import Client
from pdjira_common.config import SyncRule
from pdjira_rules.catalog import Catalogs
from pdjira_rules.config_check import CheckedRules
from pdjira_rules.reads import NatsReads
from pdjira_rules.rule_loading import WRAPPER_KEYS, RuleLoadError, load_config_rules
from pdjira_rules.rule_model import ConfigPlace
from pdjira_rules.simple_rules import compile_simple_rule

from .conftest import AUTH, Api, FakeWriters, StoreFactory, until
from .test_loading import ACCOUNTS, INSTANCES, wrapper


def simple(**overrides: Any) -> SyncRule:
    fields: dict[str, Any] = {
        "name": "ops",
        "account": "acme",
        "instance": "dc1",
        "project": "OPS",
        "issue_type": "Task",
        "on_acknowledge": "In Progress",
        "on_resolve": "Done",
        "resolution": "Done",
        "resolve_when_status": ("Done",),
    }
    return SyncRule(**{**fields, **overrides})


def test_a_simple_rule_compiles_to_a_pagerduty_style_rule() -> None:
    raw = compile_simple_rule(simple(services=("PSVC1",)))
    config = raw["rule"]["config"]
    assert (raw["account"], raw["instance"], raw["rule"]["name"]) == ("acme", "dc1", "ops")
    assert config["services"] == [{"id": "PSVC1"}]
    assert (config["projects"], config["issue_types"]) == ([{"key": "OPS"}], [{"label": "Task"}])
    assert [i["condition"]["pd_events"] for i in config["autocreate_issues_config"]] == [
        ["incident.trigger"]
    ]
    moves = config["react_on_incident_event_config"]
    assert [(m["condition"]["pd_events"], m["actions_params"]) for m in moves] == [
        (["incident.acknowledge"], {"jira_change_status": {"label": "In Progress"}}),
        (["incident.resolve"], {"jira_change_status": {"label": "Done"}}),
    ]
    [resolves] = config["react_on_issue_status_change_config"]
    assert resolves["jira_statuses"] == [{"label": "Done"}]
    assert config["sync_comments"] is True
    assert raw["resolution_events"] == ["incident.resolve"]
    assert (raw["all_services"], raw["all_issue_types"], raw["sync_priority"]) == (
        False,
        True,
        False,
    )
    assert compile_simple_rule(simple())["all_services"] is True  # no services: all of them


def test_simple_rules_load_first_in_file_order_with_their_place() -> None:
    loaded = load_config_rules(
        [wrapper()], ACCOUNTS, INSTANCES, simple_rules=(simple(name="b"), simple(name="a"))
    )
    assert [(r.id, r.name, r.source) for r in loaded] == [
        ("cfg-b", "b", "config"),
        ("cfg-a", "a", "config"),
        ("cfg-ops", "Ops", "config"),
    ]
    assert [r.place for r in loaded] == [
        ConfigPlace(section="rules", index=0),
        ConfigPlace(section="rules", index=1),
        ConfigPlace(section="pagerduty_rules", index=0),
    ]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            (simple(name="x" * 129),),
            ["$.rules[0].name: Expected `str` of length <= 128"],
        ),
        (
            (simple(name="OPS"), simple(name="ops")),
            [
                "$.rules[1].name: $.rules[0] has a name with that id ('OPS', id cfg-ops); "
                "give every rule its own name"
            ],
        ),
    ],
)
def test_problems_are_named_at_the_simple_rule(
    rules: tuple[SyncRule, ...], expected: list[str]
) -> None:
    with pytest.raises(RuleLoadError) as caught:
        load_config_rules([], ACCOUNTS, INSTANCES, simple_rules=rules)
    assert [str(p) for p in caught.value.problems] == expected


def test_a_simple_and_a_pagerduty_rule_of_one_name_are_refused() -> None:
    with pytest.raises(RuleLoadError) as caught:
        load_config_rules([wrapper()], ACCOUNTS, INSTANCES, simple_rules=(simple(name="Ops"),))
    [problem] = caught.value.problems
    assert problem.path == "$.pagerduty_rules[0].rule.name"
    assert "$.rules[0] has the same name ('Ops', id cfg-ops)" in problem.message


@pytest.mark.parametrize(
    ("rule", "path", "message"),
    [
        (
            simple(on_acknowledge="In Progres"),
            "$.rules[0].on_acknowledge",
            "status 'In Progres' does not exist; statuses: To Do, In Progress, Done",
        ),
        (
            simple(on_acknowledge=None, on_resolve="Doen"),
            "$.rules[0].on_resolve",
            "status 'Doen' does not exist",
        ),
        (
            simple(resolve_when_status=("Done", "Closed")),
            "$.rules[0].resolve_when_status[1]",
            "status 'Closed' does not exist",
        ),
        (simple(project="NOPE"), "$.rules[0].project", "project 'NOPE' does not exist"),
        (simple(issue_type="Epic"), "$.rules[0].issue_type", "issue type 'Epic' does not exist"),
        (simple(resolution="Fixed"), "$.rules[0].resolution", "resolution 'Fixed' does not exist"),
        (simple(services=("PNOPE",)), "$.rules[0].services[0]", "service 'PNOPE' does not exist"),
    ],
)
async def test_a_simple_rule_naming_what_does_not_exist_is_refused_with_its_path(
    nc: Client,
    make_store: StoreFactory,
    writers: FakeWriters,
    rule: SyncRule,
    path: str,
    message: str,
) -> None:
    writers.required = {}
    store = await make_store(load_config_rules([], ACCOUNTS, INSTANCES, simple_rules=(rule,)))
    checked = CheckedRules(store, Catalogs(NatsReads(lambda: nc, timeout=1.0)))
    [(rule_id, problems)] = (await checked.check_once()).items()
    assert rule_id == "cfg-ops"
    assert checked.current() == ()
    assert [p.path for p in problems] == [path]
    assert message in problems[0].message


async def test_a_simple_rule_whose_create_needs_a_field_says_what_to_do(
    nc: Client, make_store: StoreFactory, writers: FakeWriters
) -> None:
    store = await make_store(load_config_rules([], ACCOUNTS, INSTANCES, simple_rules=(simple(),)))
    checked = CheckedRules(store, Catalogs(NatsReads(lambda: nc, timeout=1.0)))
    [problems] = (await checked.check_once()).values()
    [problem] = problems
    assert problem.path == "$.rules[0].create_on_trigger"
    assert "requires field 'Team' (customfield_10010) on create" in problem.message
    assert problem.message.endswith(
        "a simple rule cannot fill it: turn create_on_trigger off, or write the rule under "
        "pagerduty_rules with field_templates"
    )


async def test_a_valid_simple_rule_applies_and_is_listed_by_name(
    nc: Client, make_store: StoreFactory, writers: FakeWriters, api: Api
) -> None:
    writers.required = {}
    loaded = load_config_rules(
        [wrapper()], ACCOUNTS, INSTANCES, simple_rules=(simple(name="simple ops"),)
    )
    store = await make_store(loaded)
    checked = CheckedRules(store, Catalogs(NatsReads(lambda: nc, timeout=1.0)))
    assert await checked.check_once() == {}
    assert [r.name for r in checked.current()] == ["simple ops", "Ops"]

    await until(lambda: api.store.get("cfg-simple-ops") is not None, what="the API's replica")
    listed = (await api.http.get("/rules", headers=AUTH)).json()["rules"]
    [compiled] = [r for r in listed if r["id"] == "cfg-simple-ops"]
    extension = compiled.pop("pdjira")
    assert (compiled["name"], extension["source"]) == ("simple ops", "config")
    assert extension["config_path"] == "$.rules[0]"
    assert extension["all_services"] is True
    # What is listed imports unchanged (through the same checks as any rule).
    again = {"rule": compiled, **{k: v for k, v in extension.items() if k in WRAPPER_KEYS}}
    check = await api.http.post("/rules/validate", json={"rules": [again]}, headers=AUTH)
    assert check.json() == {"problems": []}
