"""validate_rule: references resolve (by id or name), required create fields are filled."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest
from pdjira_rules.rule_model import decode_pd_rule, decode_rule
from pdjira_rules.rule_validation import (
    JiraCatalog,
    JiraProject,
    Named,
    PdCatalog,
    Problem,
    find,
    validate_pdjira_rule,
    validate_rule,
)
from pdjira_rules.templates import PLACEHOLDERS

from .examples import catalogs_from, example_rules

EXAMPLES = example_rules()
SAMPLE = EXAMPLES[0][1]
JIRA, PD = catalogs_from(SAMPLE)
STATUS_CHANGE = "$.config.react_on_incident_event_config[0].actions_params.jira_change_status"


def problems(rule: dict[str, Any], jira: JiraCatalog = JIRA, pd: PdCatalog = PD) -> list[str]:
    return [str(p) for p in validate_rule(decode_pd_rule(rule), jira, pd)]


def changed(mutate: Any) -> dict[str, Any]:
    rule = copy.deepcopy(SAMPLE)
    mutate(rule)
    return rule


@pytest.mark.parametrize(("where", "rule"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_rules_validate_against_their_catalog(where: str, rule: dict[str, Any]) -> None:
    jira, pd = catalogs_from(rule)
    assert problems(rule, jira, pd) == []


def test_a_bad_status_name_is_refused_with_the_real_statuses() -> None:
    rule = changed(
        lambda r: r["config"]["react_on_incident_event_config"][0]["actions_params"].update(
            jira_change_status={"label": "Doen"}
        )
    )
    workflow = ("10000", "To Do"), ("3", "In Progress"), ("10001", "Done")
    jira = msgspec.structs.replace(JIRA, statuses=tuple(Named(id=i, name=n) for i, n in workflow))
    assert problems(rule, jira) == [
        f"{STATUS_CHANGE}: status 'Doen' does not exist; statuses: To Do, In Progress, Done"
    ]


def test_names_resolve_instead_of_ids_case_insensitively() -> None:
    def by_name(r: dict[str, Any]) -> None:
        config = r["config"]
        config["react_on_incident_event_config"][0]["actions_params"]["jira_change_status"] = {
            "label": "in progress"
        }
        config["services"] = [{"summary": "jira integration"}, {"label": "Jira Performance Tests"}]
        config["projects"] = [{"key": "pd"}, {"label": "helpdesk"}]
        config["issue_types"] = [{"label": "BUG"}]
        config["react_on_issue_status_change_config"][0]["jira_statuses"] = [{"label": "DONE"}]
        config["autocreate_issues_config"][1]["condition"]["pd_priorities"] = [{"label": "p1"}]
        config["autocreate_incidents_config"][0]["target_service"] = {"summary": "Jira Integration"}

    assert problems(changed(by_name)) == []


def test_an_id_from_another_instance_still_resolves_by_its_label() -> None:
    rule = changed(
        lambda r: r["config"]["react_on_incident_event_config"][0]["actions_params"].update(
            jira_change_status={"id": "999", "label": "In Progress"}
        )
    )
    assert problems(rule) == []


def test_an_id_naming_something_else_here_is_a_problem() -> None:
    rule = changed(
        lambda r: r["config"]["react_on_incident_event_config"][0]["actions_params"].update(
            jira_change_status={"id": "10001", "label": "In Progress"}
        )
    )
    assert problems(rule) == [
        f"{STATUS_CHANGE}: status id '10001' is 'Done' here, not 'In Progress'"
    ]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r["config"]["services"][0].update(id="PNOPE", label="Gone"),
            "$.config.services[0]: service 'Gone' does not exist; "
            "services: Jira Integration, Jira Performance Tests",
        ),
        (
            lambda r: r["config"]["projects"][1].update(id="1", key="XX", label="Nope"),
            "$.config.projects[1]: project 'Nope' does not exist; projects: PagerDuty, Helpdesk",
        ),
        (
            lambda r: r["config"]["autocreate_issues_config"][1]["target_issue_type"].update(
                id="1", label="Epic"
            ),
            "$.config.autocreate_issues_config[1].target_issue_type: issue type 'Epic' does not "
            "exist; issue types: Story, Task, Bug",
        ),
        (
            lambda r: r["config"]["autocreate_issues_config"][1]["actions_params"].update(
                jira_field_set_priority={"name": "Blocker"}
            ),
            "$.config.autocreate_issues_config[1].actions_params.jira_field_set_priority: "
            "priority 'Blocker' does not exist; priorities: Highest, Low",
        ),
        (
            lambda r: r["config"]["autocreate_incidents_config"][0]["actions_params"].update(
                pd_set_priority={"label": "P9"}
            ),
            "$.config.autocreate_incidents_config[0].actions_params.pd_set_priority: "
            "priority 'P9' does not exist; priorities: P1, P2, P3, P4, P5",
        ),
        (
            lambda r: r["config"]["autocreate_incidents_config"][0].update(jql="issuetype = "),
            "$.config.autocreate_incidents_config[0].jql: Error in the JQL Query: Expecting "
            "either a value, list or function before the end of the query. "
            "(line 1, character 13)",
        ),
        (
            lambda r: r["config"]["autocreate_incidents_config"][0].update(
                on_create=False, on_update=False
            ),
            "$.config.autocreate_incidents_config[0]: neither on_create nor on_update: "
            "the item never fires",
        ),
        (
            lambda r: r["config"]["autocreate_incidents_config"][0].pop("target_service"),
            "$.config.autocreate_incidents_config[0].target_service: missing, and the rule has "
            "several services",
        ),
        (
            lambda r: r["config"]["react_on_issue_status_change_config"][0]["actions"].append(
                {"key": "jira_change_status"}
            ),
            "$.config.react_on_issue_status_change_config[0].actions[1]: action "
            "'jira_change_status' does not apply here; actions: pd_acknowledge, "
            "pd_add_responders, pd_reopen, pd_resolve, pd_set_priority",
        ),
        (
            lambda r: r["config"]["react_on_incident_event_config"][0]["actions_params"].pop(
                "jira_change_status"
            ),
            f"{STATUS_CHANGE}: action 'jira_change_status' needs a parameter",
        ),
        (
            lambda r: r["config"]["autocreate_issues_config"][0]["actions_params"][
                "jira_append_description"
            ].append({"key": "incident.nope", "icon": "pd"}),
            "$.config.autocreate_issues_config[0].actions_params.jira_append_description: "
            "unknown placeholder 'incident.nope'; placeholders: ",
        ),
        (
            lambda r: r["config"]["react_on_issue_status_change_config"][2]["actions_params"][
                "pd_add_responders"
            ][0].update(id="PGONE", email="gone@example.com", label="Gone"),
            "$.config.react_on_issue_status_change_config[2].actions_params.pd_add_responders[0]:"
            " user 'Gone' does not exist; users: User 1, User 2",
        ),
        (
            lambda r: r["config"]["react_on_issue_status_change_config"][1].update(
                jira_statuses=[]
            ),
            "$.config.react_on_issue_status_change_config[1].jira_statuses: no statuses: "
            "the item never fires",
        ),
        (
            lambda r: r["config"]["autocreate_issues_config"][2]["condition"].update(pd_events=[]),
            "$.config.autocreate_issues_config[2].condition.pd_events: no PagerDuty events: "
            "the item never fires",
        ),
        (
            lambda r: r["config"].update(react_on_incident_event_config=[]),
            "$.config.react_on_incident_event_config: react_on_incident_event is on but has no "
            "items",
        ),
    ],
)
def test_problems_name_the_path_and_what_exists(mutate: Any, expected: str) -> None:
    found = problems(changed(mutate))
    assert len(found) == 1, found
    assert found[0].startswith(expected)


REQUIRED = JiraCatalog(
    statuses=JIRA.statuses,
    priorities=JIRA.priorities,
    projects=JIRA.projects,
    issue_types=JIRA.issue_types,
    required_fields={"HD": {"Bug": ("summary", "customfield_10010", "priority")}},
    fields={"customfield_10010": "Customer Tier", "priority": "Priority"},
)
REQUIRED_MESSAGE = (
    "$.config.autocreate_issues_config[{i}]: project HD issue type Bug requires field "
    "'Customer Tier' (customfield_10010) on create; set it with a "
    "jira_field_set_customfield_10010 action or in field_templates"
)


def test_a_rule_that_leaves_a_required_create_field_empty_is_a_problem() -> None:
    # Item 1 targets HD/Bug explicitly; item 0 may target any project/type of the rule;
    # item 2 targets Bug in any project. Priority is set by each of items 1 and 2, not item 0.
    found = problems(SAMPLE, REQUIRED)
    assert found == [
        REQUIRED_MESSAGE.format(i=0),
        "$.config.autocreate_issues_config[0]: project HD issue type Bug requires field "
        "'Priority' (priority) on create; set it with a jira_field_set_priority action or in "
        "field_templates",
        REQUIRED_MESSAGE.format(i=1),
        REQUIRED_MESSAGE.format(i=2),
    ]


def test_a_field_set_action_fills_a_required_field() -> None:
    def fill(r: dict[str, Any]) -> None:
        for item in r["config"]["autocreate_issues_config"]:
            item["actions"] += [
                {"key": "jira_field_set_customfield_10010"},
                {"key": "jira_field_set_priority"},
            ]
            item["actions_params"]["jira_field_set_customfield_10010"] = "Gold"
            item["actions_params"].setdefault("jira_field_set_priority", {"name": "Low"})

    assert problems(changed(fill), REQUIRED) == []


def test_a_disabled_action_fills_nothing() -> None:
    def fill_disabled(r: dict[str, Any]) -> None:
        item = r["config"]["autocreate_issues_config"][1]
        item["actions"].append({"key": "jira_field_set_customfield_10010", "isDisabled": True})

    assert REQUIRED_MESSAGE.format(i=1) in problems(changed(fill_disabled), REQUIRED)


def wrapper(**extra: Any) -> dict[str, Any]:
    return {"account": "acme", "instance": "jira", "rule": SAMPLE, **extra}


def test_field_templates_in_our_wrapper_fill_required_fields() -> None:
    wrapped = decode_rule(
        wrapper(field_templates={"customfield_10010": "{{incident.service.summary}}"})
    )
    found = [str(p) for p in validate_pdjira_rule(wrapped, REQUIRED, PD)]
    assert found == [
        "$.rule.config.autocreate_issues_config[0]: project HD issue type Bug requires field "
        "'Priority' (priority) on create; set it with a jira_field_set_priority action or in "
        "field_templates"
    ]


def test_wrapper_problems() -> None:
    catalog = JiraCatalog(
        statuses=JIRA.statuses,
        priorities=JIRA.priorities,
        projects=JIRA.projects,
        issue_types=JIRA.issue_types,
        resolutions=(Named(id="10000", name="Done"), Named(id="10001", name="Won't Do")),
        fields={"customfield_10010": "Customer Tier"},
    )
    wrapped = decode_rule(
        wrapper(
            priority_map={"P1": "Highest", "p4": "low", "P7": "Urgent"},
            field_templates={"customfield_10010": "{{incident.tier}}", "customfield_1": "x"},
            resolution="Fixed",
        )
    )
    assert [str(p) for p in validate_pdjira_rule(wrapped, catalog, PD)] == [
        "$.priority_map.P7: PagerDuty priority 'P7' does not exist; priorities: P1, P2, P3, P4, P5",
        "$.priority_map.P7: priority 'Urgent' does not exist; priorities: Highest, Low",
        "$.field_templates.customfield_10010: unknown placeholder 'incident.tier'; placeholders: "
        + ", ".join(sorted(PLACEHOLDERS)),
        "$.field_templates.customfield_1: field 'customfield_1' does not exist; "
        "fields: customfield_10010 (Customer Tier)",
        "$.resolution: resolution 'Fixed' does not exist; resolutions: Done, Won't Do",
    ]
    assert validate_pdjira_rule(decode_rule(wrapper(resolution="won't do")), catalog, PD) == []


def test_find_prefers_ids_then_names_and_keys() -> None:
    entries = [Named(id="3", name="In Progress"), Named(id="1", name="3")]
    assert find(entries, "3") == entries[0]
    assert find(entries, None, "IN PROGRESS") == entries[0]
    project = JiraProject(id="10000", key="PD", name="PagerDuty")
    assert find([project], "pd") == project
    assert find([project], "nope", None, "") is None


def test_problem_is_a_path_and_a_message() -> None:
    assert str(Problem(path="$.a", message="b")) == "$.a: b"


def test_a_rule_for_all_services_must_name_the_service_an_incident_goes_to() -> None:
    wrapped = decode_rule(
        {
            "account": "acme",
            "instance": "dc1",
            "all_services": True,
            "rule": {
                "name": "all",
                "config": {
                    "projects": [{"key": "PD"}],
                    "issue_types": [{"label": "Bug"}],
                    "autocreate_incidents": True,
                    "autocreate_incidents_config": [{"jql": "project = PD", "on_create": True}],
                },
            },
        }
    )
    [problem] = [
        p
        for p in validate_pdjira_rule(wrapped, JiraCatalog(), PdCatalog())
        if "does not exist" not in p.message  # the empty catalogs: not what this is about
    ]
    assert problem.path == "$.rule.config.autocreate_incidents_config[0].target_service"
    assert "names no service (all_services)" in problem.message
