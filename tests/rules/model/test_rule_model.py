"""PagerDuty's Jira Server rule decodes unchanged; errors name the path of the bad field."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from pdjira_rules.rule_model import (
    JiraPriority,
    JiraStatus,
    PdjiraRule,
    PriorityReference,
    Rule,
    RuleDecodeError,
    UserReference,
    action_param,
    decode_pd_rule,
    decode_rule,
    enabled_actions,
    rule_items,
)
from pdjira_rules.templates import TemplateItem

from .examples import example_rules

EXAMPLES = example_rules()
SAMPLE = EXAMPLES[0][1]


def test_the_spec_has_examples() -> None:
    assert len(EXAMPLES) >= 6


@pytest.mark.parametrize(("where", "rule"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_rules_decode_unchanged(where: str, rule: dict[str, Any]) -> None:
    decoded = decode_pd_rule(json.dumps(rule).encode())
    assert decoded == decode_pd_rule(rule)  # JSON text and parsed data (YAML) alike
    assert decoded.name == rule["name"]
    config = rule["config"]
    for section in (
        "autocreate_issues_config",
        "autocreate_incidents_config",
        "react_on_incident_event_config",
        "react_on_issue_status_change_config",
    ):
        assert len(getattr(decoded.config, section)) == len(config.get(section, []))
    # Re-encoding keeps every field the schema names (extras such as `label` may drop).
    again = msgspec.to_builtins(decoded)
    assert again["config"]["projects"][0]["key"] == config["projects"][0]["key"]
    assert decode_pd_rule(again) == decoded


def test_sample_rule_in_detail() -> None:
    rule = decode_pd_rule(SAMPLE)
    config = rule.config
    assert rule.enabled is True
    assert config.sync_comments is True
    assert [s.id for s in config.services] == ["PLW70S2", "PR5R1T1"]
    incident = config.autocreate_incidents_config[0]
    assert (incident.jql, incident.on_create, incident.on_update) == ("issuetype=Bug", True, True)
    assert enabled_actions(incident) == (
        "jira_field_set_priority",
        "jira_field_set_labels",
        "pd_set_priority",
    )
    issue = config.autocreate_issues_config[1]
    assert issue.condition.pd_urgency == "high"
    assert [p.label for p in issue.condition.pd_priorities] == ["P1", "P2"]
    assert issue.target_project is not None
    assert issue.target_project.key == "HD"
    assert config.autocreate_issues_config[0].target_project is None
    status = config.react_on_issue_status_change_config[0]
    assert status.jira_statuses == (JiraStatus(id="3", label="In Progress"),)
    paths = [path for path, _ in rule_items(rule)]
    assert paths[0] == "$.config.autocreate_issues_config[0]"
    assert paths[-1] == "$.config.react_on_issue_status_change_config[2]"


def test_typed_action_params() -> None:
    config = decode_pd_rule(SAMPLE).config
    params = config.autocreate_incidents_config[0].actions_params
    assert action_param("jira_field_set_priority", params["jira_field_set_priority"]) == (
        JiraPriority(
            id="1",
            name="Highest",
            label="Highest",
            icon="http://jira.example.com/images/icons/priorities/highest.svg",
        )
    )
    pd_priority = action_param("pd_set_priority", params["pd_set_priority"])
    assert isinstance(pd_priority, PriorityReference)
    assert pd_priority.id == "PZQ39X0"
    labels = action_param("jira_field_set_labels", params["jira_field_set_labels"])
    assert labels == [TemplateItem(key="incident.service.summary", label="Service name", icon="pd")]
    responders = action_param(
        "pd_add_responders",
        config.react_on_issue_status_change_config[2].actions_params["pd_add_responders"],
    )
    assert isinstance(responders, list)
    assert [r.email for r in responders if isinstance(r, UserReference)] == [
        "user1@example.com",
        "user2@example.com",
    ]
    assert action_param("jira_field_set_customfield_10010", "{{incident.title}}") == (
        "{{incident.title}}"
    )
    assert action_param("pd_resolve", None) is None


def test_unknown_extra_fields_do_not_break_decoding() -> None:
    rule = copy.deepcopy(SAMPLE)
    rule["id"] = "R1"
    rule["updated_at"] = "2026-01-01T00:00:00Z"
    rule["config"]["future_option"] = {"x": 1}
    rule["config"]["projects"][0]["avatarUrls"] = {}
    rule["config"]["autocreate_issues_config"][0]["condition"]["pd_teams"] = ["T1"]
    assert decode_pd_rule(rule).id == "R1"


def test_a_yaml_rule_may_name_things_and_leave_out_read_only_fields() -> None:
    rule = decode_pd_rule(
        {
            "name": "Minimal",
            "config": {
                "services": [{"summary": "Checkout API"}],
                "projects": [{"key": "OPS"}],
                "issue_types": [{"label": "Incident"}],
                "react_on_incident_event": True,
                "react_on_incident_event_config": [
                    {
                        "condition": {"pd_events": ["incident.resolve"]},
                        "actions": [{"key": "jira_change_status"}],
                        "actions_params": {"jira_change_status": {"label": "Done"}},
                    }
                ],
            },
        }
    )
    assert rule.enabled is False
    assert rule.created_at is None
    assert rule.config.react_on_incident_event_config[0].condition.pd_urgency is None


def _bad(mutate: Any) -> dict[str, Any]:
    rule = copy.deepcopy(SAMPLE)
    mutate(rule)
    return rule


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            _bad(lambda r: r["config"]["autocreate_issues_config"][0]["condition"].update(
                pd_urgency="medium"
            )),
            "$.config.autocreate_issues_config[0].condition.pd_urgency: "
            "Expected one of high, low, got 'medium'",
        ),
        (
            _bad(lambda r: r["config"]["react_on_incident_event_config"][1]["condition"].update(
                pd_events=["incident.trigger_manually"]
            )),
            "$.config.react_on_incident_event_config[1].condition.pd_events[0]: Expected one of "
            "incident.trigger, incident.acknowledge, incident.unacknowledge, incident.resolve, "
            "incident.escalate, incident.assign, incident.delegate, "
            "got 'incident.trigger_manually'",
        ),
        (
            _bad(lambda r: r["config"].update(services=[])),
            "$.config.services: Expected `array` of length >= 1",
        ),
        (
            _bad(lambda r: r.update(name="x" * 129)),
            "$.name: Expected `str` of length <= 128",
        ),
        (
            _bad(lambda r: r["config"]["autocreate_incidents_config"][1].pop("jql")),
            "$.config.autocreate_incidents_config[1]: Object missing required field `jql`",
        ),
        (
            _bad(lambda r: r["config"]["services"][0].update(type="user_reference")),
            "$.config.services[0].type: Expected one of service_reference, got 'user_reference'",
        ),
        (
            _bad(lambda r: r["config"]["react_on_incident_event_config"][0]["actions_params"]
                 .update(jira_change_status={"id": 3})),
            "$.config.react_on_incident_event_config[0].actions_params.jira_change_status.id: "
            "Expected `str | null`, got `int`",
        ),
        (
            _bad(lambda r: r["config"]["autocreate_issues_config"][0]["actions_params"].update(
                jira_append_description=[{"label": "no key"}]
            )),
            "$.config.autocreate_issues_config[0].actions_params.jira_append_description[0]: "
            "Object missing required field `key`",
        ),
    ],
)  # fmt: skip
def test_decode_errors_name_the_path(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleDecodeError) as err:
        decode_pd_rule(rule)
    assert str(err.value) == message


def test_invalid_json() -> None:
    with pytest.raises(RuleDecodeError, match=r"^\$: not valid JSON"):
        decode_pd_rule(b"{nope")


def test_our_wrapper_sits_beside_the_rule() -> None:
    wrapped = decode_rule(
        {
            "account": "acme",
            "instance": "jira-dc",
            "rule": SAMPLE,
            "priority_map": {"P1": "Highest", "P2": "High"},
            "field_templates": {
                "customfield_10010": "{{incident.service.summary}}",
                "customfield_10011": [{"key": "incident.urgency", "icon": "pd"}],
            },
            "resolution": "Done",
        }
    )
    assert isinstance(wrapped, PdjiraRule)
    assert isinstance(wrapped.rule, Rule)
    assert wrapped.rule == decode_pd_rule(SAMPLE)
    assert wrapped.field_templates["customfield_10011"] == [
        TemplateItem(key="incident.urgency", icon="pd")
    ]
    bad = copy.deepcopy(SAMPLE)
    bad["config"]["autocreate_issues_config"][2]["condition"]["pd_urgency"] = "urgent"
    with pytest.raises(RuleDecodeError) as err:
        decode_rule({"account": "acme", "instance": "j", "rule": bad})
    assert err.value.path == "$.rule.config.autocreate_issues_config[2].condition.pd_urgency"
    with pytest.raises(RuleDecodeError, match=r"^\$: Object missing required field `account`"):
        decode_rule({"instance": "j", "rule": SAMPLE})


def test_yaml_datetimes_and_account_ids() -> None:
    yaml_like = copy.deepcopy(SAMPLE)
    yaml_like["created_at"] = datetime(2020, 6, 2, 12, 42, 37, tzinfo=UTC)  # what YAML yields
    assert decode_pd_rule(yaml_like) == decode_pd_rule(SAMPLE)
    with pytest.raises(RuleDecodeError, match=r"^\$\.account: Expected `str` matching regex"):
        decode_rule({"account": "acme corp", "instance": "j", "rule": SAMPLE})
