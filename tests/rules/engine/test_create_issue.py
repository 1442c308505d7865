"""autocreate_issues: one CreateIssue per unlinked incident, shaped by actions and templates."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.contracts import CreateIssue
from pdjira_rules.engine import decide_rules
from pdjira_rules.engine.create_issue import create_command_id
from pdjira_rules.rule_model import StoredRule

from ..builders import (
    compiled,
    create_item,
    incident_data,
    incident_event,
    link,
    pd_rule,
    simple_rule,
    stored,
    verdicts_of,
)

PD_ITEM = {"label": "Incident title", "icon": "pd", "key": "incident.title"}
TEXT_ITEM = {"label": "x", "icon": "text", "key": "paged"}


def _rule(*items: dict[str, Any], name: str = "ops", **config: Any) -> dict[str, Any]:
    return pd_rule(
        name,
        autocreate_issues=True,
        autocreate_issues_config=list(items or [create_item()]),
        **config,
    )


def _create(rule: StoredRule, **event: Any) -> CreateIssue:
    decision = decide_rules(incident_event(**event), [rule], None)
    (command,) = decision.commands
    assert isinstance(command, CreateIssue)
    return command


def test_defaults_follow_the_simple_rule_set() -> None:
    command = _create(stored(_rule()))
    assert command.command_id == create_command_id("acme", "PGR0VU2")
    assert command.instance == "dc1"
    assert (command.project, command.issue_type) == ("OPS", "Task")
    assert command.summary == "A little bump in the road"
    assert command.description.splitlines() == [
        "PagerDuty incident #2: A little bump in the road",
        "Service: API Service (PSVC9)",
        "Urgency: high",
        "Priority: P1",
        "Incident: https://acme.pagerduty.com/incidents/PGR0VU2",
    ]
    assert command.labels == ("pagerduty",)
    assert command.priority is None
    assert command.assignee_pd_user_id is None
    assert command.fields == {}


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (
            {"jira_field_set_priority": {"id": "1", "name": "Highest", "label": "Highest"}},
            {"priority": "Highest"},
        ),
        ({"jira_field_set_priority": {"id": "1"}}, {"priority": "1"}),
        (
            {"jira_field_set_assignee": {"key": "incident.assignee", "icon": "pd"}},
            {"assignee_pd_user_id": "PTUXL6G"},
        ),
        (
            {
                "jira_field_set_labels": [
                    {"key": "incident.service.summary", "icon": "pd"},
                    TEXT_ITEM,
                ]
            },
            {"labels": ("API_Service", "paged")},
        ),
        (
            {"jira_append_description": [PD_ITEM, TEXT_ITEM]},
            {"description": "Incident title: A little bump in the road\npaged"},
        ),
        (
            {
                "jira_field_set_customfield_10010": "{{incident.urgency}} / "
                "#{{incident.incident_number}}"
            },
            {"fields": {"customfield_10010": "high / #2"}},
        ),
        (
            {"jira_field_set_components": [PD_ITEM]},
            {"fields": {"components": "A little bump in the road"}},
        ),
        (
            {"jira_field_set_summary": "[PD] {{incident.title}}"},
            {"summary": "[PD] A little bump in the road"},
        ),
    ],
)
def test_jira_actions_on_create(actions: dict[str, Any], expected: dict[str, Any]) -> None:
    command = _create(stored(_rule(create_item(actions=actions))))
    for name, value in expected.items():
        assert getattr(command, name) == value


def test_disabled_actions_do_not_count() -> None:
    item = create_item(
        actions={
            "jira_field_set_priority": {"name": "Highest"},
            "jira_field_set_labels": [TEXT_ITEM],
        },
        disabled=("jira_field_set_priority",),
    )
    command = _create(stored(_rule(item)))
    assert command.priority is None
    assert command.labels == ("paged",)


def test_assignee_needs_an_assignee() -> None:
    item = create_item(
        actions={"jira_field_set_assignee": {"key": "incident.assignee", "icon": "pd"}}
    )
    decision = decide_rules(
        incident_event(data=incident_data(assignees=[])), [stored(_rule(item))], None
    )
    (command,) = decision.commands
    assert isinstance(command, CreateIssue)
    assert command.assignee_pd_user_id is None
    assert (
        "jira_field_set_assignee: incident has no assignee, not applied"
        in decision.verdicts[0].reason
    )


def test_target_project_and_issue_type() -> None:
    item = create_item(
        target_project={"id": "10001", "key": "HD", "label": "Helpdesk"},
        target_issue_type={"id": "10004", "label": "Bug"},
    )
    command = _create(stored(_rule(item)))
    assert (command.project, command.issue_type) == ("HD", "Bug")
    item = create_item(target_project={"id": "10001"}, target_issue_type={"id": "10004"})
    command = _create(stored(_rule(item)))
    assert (command.project, command.issue_type) == ("10001", "10004")


def test_field_templates_and_priority_map() -> None:
    rule = stored(
        _rule(),
        priority_map={"P1": "Highest", "P2": "High"},
        field_templates={
            "summary": "{{incident.service.summary}}: {{incident.title}}",
            "description": "See {{incident.html_url}}",
            "labels": "pd, {{incident.urgency}}",
            "customfield_10020": [{"key": "incident.id", "icon": "pd"}],
        },
    )
    command = _create(rule)
    assert command.summary == "API Service: A little bump in the road"
    assert command.description == "See https://acme.pagerduty.com/incidents/PGR0VU2"
    assert command.labels == ("pd", "high")
    assert command.priority == "Highest"
    assert command.fields == {"customfield_10020": "PGR0VU2"}


@pytest.mark.parametrize(
    ("priority", "expected"),
    [("P2", "High"), ("p2", "High"), ("P5", None), (None, None)],
)
def test_priority_map_on_create(priority: str | None, expected: str | None) -> None:
    rule = stored(_rule(), priority_map={"P1": "Highest", "P2": "High"})
    named = {"summary": priority} if priority else None  # by name only: no id
    command = _create(rule, data=incident_data(priority=named))
    assert command.priority == expected


def test_action_priority_beats_the_map() -> None:
    item = create_item(actions={"jira_field_set_priority": {"name": "Low"}})
    command = _create(stored(_rule(item), priority_map={"P1": "Highest"}))
    assert command.priority == "Low"


def test_summary_is_one_line_of_at_most_255() -> None:
    command = _create(stored(_rule()), title="word\n" * 100)
    assert "\n" not in command.summary
    assert len(command.summary) <= 255
    assert command.summary.endswith("...")


def test_linked_incident_gets_no_second_issue() -> None:
    decision = decide_rules(incident_event(), [stored(_rule())], link(key="OPS-7"))
    assert decision.commands == ()
    (verdict,) = [v for v in decision.verdicts if v.item == "autocreate_issues_config[0]"]
    assert verdict.reason.endswith("incident already linked to OPS-7; not creating another issue")


def test_two_rules_matching_create_one_issue() -> None:
    first = stored(_rule(name="first"), rule_id="r1")
    second = stored(_rule(name="second"), rule_id="r2")
    decision = decide_rules(incident_event(), [first, second], None)
    assert len(decision.commands) == 1
    creates = [v for v in decision.verdicts if v.item == "autocreate_issues_config[0]"]
    assert [v.matched for v in creates] == [True, False]
    assert creates[1].reason.endswith(
        "rule 'first' (autocreate_issues_config[0]) already creates the issue "
        "(one issue per incident)"
    )


def test_first_matching_item_wins_within_a_rule() -> None:
    rule = stored(
        _rule(
            create_item(("incident.resolve",)),
            create_item(actions={"jira_field_set_labels": [TEXT_ITEM]}),
            create_item(),
        )
    )
    decision = decide_rules(incident_event(), [rule], None)
    (command,) = decision.commands
    assert isinstance(command, CreateIssue)
    assert command.labels == ("paged",)
    assert [v.matched for v in decision.verdicts[:3]] == [False, True, False]


def test_create_already_taken_by_a_simple_rule() -> None:
    rules = [*compiled(simple_rule(name="simple")), stored(_rule())]
    decision = decide_rules(incident_event(), rules, None)
    (command,) = decision.commands
    assert command.command_id == create_command_id("acme", "PGR0VU2")
    [skipped] = [v for v in verdicts_of(decision, "autocreate_issues") if v.rule == "ops"]
    assert "rule 'simple' (autocreate_issues_config[0]) already creates the issue" in (
        skipped.reason
    )


def test_section_off_or_empty() -> None:
    off = stored(pd_rule(autocreate_issues=False, autocreate_issues_config=[create_item()]))
    empty = stored(pd_rule(autocreate_issues=True), rule_id="r2")
    decision = decide_rules(incident_event(), [off, empty], None)
    assert decision.commands == ()
    reasons = {(v.item, v.reason) for v in decision.verdicts}
    assert ("autocreate_issues", "autocreate_issues is off") in reasons
    assert ("autocreate_issues", "autocreate_issues is on but has no items") in reasons


def test_non_trigger_events_create_too_when_listed() -> None:
    rule = stored(_rule(create_item(("incident.acknowledge",))))
    decision = decide_rules(incident_event("incident.acknowledged"), [rule], None)
    assert [type(c).__name__ for c in decision.commands] == ["CreateIssue"]


def test_unknown_placeholder_is_a_skip_not_a_crash() -> None:
    item = create_item(actions={"jira_field_set_labels": "{{incident.nope}}"})
    decision = decide_rules(incident_event(), [stored(_rule(item))], None)
    assert decision.commands == ()
    assert "cannot render the actions: unknown placeholder 'incident.nope'" in (
        decision.verdicts[0].reason
    )
