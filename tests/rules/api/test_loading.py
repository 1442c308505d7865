"""Loading rules from the config and from PagerDuty exports: every problem names its path."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from pdjira_rules.rule_loading import (
    RuleLoadError,
    config_rule_id,
    decode_wrapper,
    load_config_rules,
    wrapper_of,
)

ACCOUNTS = ["acme"]
INSTANCES = ["dc1"]


def pd_rule(name: str = "Ops", **config: Any) -> dict[str, Any]:
    """A minimal valid PagerDuty rule: Jira 'Done' resolves the incident."""
    return {
        "name": name,
        "enabled": True,
        "config": {
            "services": [{"id": "PSVC1", "type": "service_reference"}],
            "projects": [{"id": "10100", "key": "OPS", "label": "Operations"}],
            "issue_types": [{"id": "10002", "label": "Task"}],
            "react_on_issue_status_change": True,
            "react_on_issue_status_change_config": [
                {
                    "jira_statuses": [{"id": "10001", "label": "Done"}],
                    "actions": [{"key": "pd_resolve", "label": "Resolve"}],
                    "actions_params": {},
                }
            ],
            **config,
        },
    }


def wrapper(**extra: Any) -> dict[str, Any]:
    return {"rule": pd_rule(), **extra}


def problems_of(
    raw_rules: list[dict[str, Any]],
    accounts: list[str] = ACCOUNTS,
    instances: list[str] = INSTANCES,
) -> list[str]:
    with pytest.raises(RuleLoadError) as caught:
        load_config_rules(raw_rules, accounts, instances)
    return [str(p) for p in caught.value.problems]


def jql_item(jql: str) -> dict[str, Any]:
    return {
        "autocreate_incidents": True,
        "autocreate_incidents_config": [
            {"jql": jql, "on_create": True, "actions": [], "actions_params": {}}
        ],
    }


BAD = [
    pytest.param(
        [{"rule": {"enabled": True, "config": pd_rule()["config"]}}],
        ["$.pagerduty_rules[0].rule: Object missing required field `name`"],
        id="name-missing",
    ),
    pytest.param(
        [wrapper(), {"rule": pd_rule(services=[])}],
        ["$.pagerduty_rules[1].rule.config.services: Expected `array` of length >= 1"],
        id="no-services",
    ),
    pytest.param(
        [
            {
                "rule": pd_rule(
                    react_on_incident_event=True,
                    react_on_incident_event_config=[
                        {"condition": {"pd_events": ["incident.exploded"]}, "actions": []}
                    ],
                )
            }
        ],
        [
            "$.pagerduty_rules[0].rule.config.react_on_incident_event_config[0].condition"
            ".pd_events[0]: Expected one of incident.trigger, incident.acknowledge, "
            "incident.unacknowledge, incident.resolve, incident.escalate, incident.assign, "
            "incident.delegate, got 'incident.exploded'"
        ],
        id="unknown-event",
    ),
    pytest.param(
        [{"rule": pd_rule(**jql_item('project = OPS AND (status = "Done"'))}],
        [
            "$.pagerduty_rules[0].rule.config.autocreate_incidents_config[0].jql: Error in the "
            "JQL Query: Expecting ')' before the end of the query. (line 1, character 35)"
        ],
        id="jql-syntax",
    ),
    pytest.param(
        [wrapper(account="acme", instance="dc1", priorty_map={"P1": "Highest"})],
        [
            "$.pagerduty_rules[0].priorty_map: unknown key 'priorty_map' (did you mean "
            "'priority_map'?); known: account, "
        ],
        id="wrapper-typo",
    ),
    pytest.param(
        [wrapper(field_templates={"customfield_10010": "{{incident.nope}}"})],
        ["$.pagerduty_rules[0].field_templates.customfield_10010: "],
        id="unknown-placeholder",
    ),
    pytest.param(
        [
            {
                "rule": pd_rule(
                    react_on_issue_status_change_config=[
                        {
                            "jira_statuses": [{"label": "Done"}],
                            "actions": [{"key": "jira_change_status"}],
                            "actions_params": {},
                        }
                    ]
                )
            }
        ],
        [
            "$.pagerduty_rules[0].rule.config.react_on_issue_status_change_config[0]"
            ".actions[0]: action 'jira_change_status' does not apply here"
        ],
        id="action-in-wrong-section",
    ),
    pytest.param(
        [wrapper(), wrapper(instance="dc1")],
        [
            "$.pagerduty_rules[1].rule.name: $.pagerduty_rules[0] has the same name ('Ops', "
            "id cfg-ops); give every rule its own name"
        ],
        id="duplicate-name",
    ),
]


@pytest.mark.parametrize(("raw", "expected"), BAD)
def test_config_rule_problems_name_their_path(
    raw: list[dict[str, Any]], expected: list[str]
) -> None:
    found = problems_of(raw)
    assert len(found) == len(expected), found
    for got, want in zip(found, expected, strict=True):
        assert got.startswith(want), (got, want)


def test_jql_error_says_where_in_the_query() -> None:
    [problem] = problems_of([{"rule": pd_rule(**jql_item("project = OPS AND"))}])
    assert problem.startswith("$.pagerduty_rules[0].rule.config.autocreate_incidents_config[0].jql")
    assert problem.endswith("(line 1, character 18)"), problem


def test_every_bad_rule_is_reported_at_once() -> None:
    found = problems_of([{"rule": pd_rule(services=[])}, wrapper(), {"rule": {"name": "x"}}])
    assert [p.split(":")[0] for p in found] == [
        "$.pagerduty_rules[0].rule.config.services",
        "$.pagerduty_rules[2].rule",
    ]


def test_account_and_instance_default_to_the_only_one() -> None:
    [rule] = load_config_rules([wrapper()], ACCOUNTS, INSTANCES)
    assert (rule.wrapped.account, rule.wrapped.instance) == ("acme", "dc1")
    assert (rule.id, rule.source, rule.name) == ("cfg-ops", "config", "Ops")


def test_several_accounts_or_instances_need_a_choice() -> None:
    found = problems_of([wrapper()], ["acme", "beta"], ["dc1", "dc2"])
    assert found == [
        "$.pagerduty_rules[0].account: missing, and several PagerDuty accounts are configured; "
        "choose one of: acme, beta",
        "$.pagerduty_rules[0].instance: missing, and several Jira instances are configured; "
        "choose one of: dc1, dc2",
    ]
    [rule] = load_config_rules(
        [wrapper(account="beta", instance="dc2")], ["acme", "beta"], ["dc1", "dc2"]
    )
    assert (rule.wrapped.account, rule.wrapped.instance) == ("beta", "dc2")


def test_unknown_account_is_refused() -> None:
    assert problems_of([wrapper(account="nope")]) == [
        "$.pagerduty_rules[0].account: unknown account 'nope'; configured: acme"
    ]


def test_references_are_left_to_the_live_catalogs() -> None:
    # A status name no catalog was asked about is not an offline problem.
    rule = pd_rule()
    rule["config"]["react_on_issue_status_change_config"][0]["jira_statuses"] = [{"label": "Doen"}]
    [loaded] = load_config_rules([{"rule": rule}], ACCOUNTS, INSTANCES)
    assert (
        loaded.wrapped.rule.config.react_on_issue_status_change_config[0].jira_statuses[0].label
        == "Doen"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ops", "cfg-ops"),
        ("Sev 1 -> Jira (prod)", "cfg-sev-1-jira-prod"),
        ("Ümlaut Ops", "cfg-mlaut-ops"),
    ],
)
def test_config_rule_ids(name: str, expected: str) -> None:
    assert config_rule_id(name) == expected


def test_name_without_letters_gets_a_stable_id() -> None:
    assert config_rule_id("!!!") == config_rule_id("!!!")
    assert config_rule_id("!!!").startswith("cfg-")
    assert len(config_rule_id("!!!")) == 16


def test_slug_collision_names_both_positions() -> None:
    found = problems_of([{"rule": pd_rule("Ops rule")}, {"rule": pd_rule("ops-rule")}])
    assert found == [
        "$.pagerduty_rules[1].rule.name: $.pagerduty_rules[0] has a name with that id "
        "('Ops rule', id cfg-ops-rule); give every rule its own name"
    ]


def test_pagerduty_export_decodes_unchanged() -> None:
    exported = copy.deepcopy(pd_rule())
    exported.update(id="PRULE01", created_at="2024-03-01T10:00:00Z", html_url="https://x")
    exported["config"]["services"][0].update(summary="Web", html_url="https://x/PSVC1")
    body = {"rule": exported, "priority_map": {"P1": "Highest"}}
    wrapped = decode_wrapper(wrapper_of(body), ACCOUNTS, INSTANCES)
    assert wrapped.rule.name == "Ops"
    assert wrapped.rule.created_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert wrapped.priority_map == {"P1": "Highest"}
    # a bare rule too
    assert decode_wrapper(wrapper_of(exported), ACCOUNTS, INSTANCES).rule == wrapped.rule


def test_api_paths_start_at_the_body() -> None:
    with pytest.raises(RuleLoadError) as caught:
        decode_wrapper({"rule": pd_rule(services=[])}, ACCOUNTS, INSTANCES)
    assert [p.path for p in caught.value.problems] == ["$.rule.config.services"]
    with pytest.raises(RuleLoadError) as caught:
        decode_wrapper(["not", "an", "object"], ACCOUNTS, INSTANCES)
    assert str(caught.value) == '$: expected an object {"rule": {...}, ...}'
