"""react_on_incident_event: linked incidents move and update their issues."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.contracts import RuleVerdict, TransitionIssue, UpdateIssueFields
from pdjira_rules.engine import ECHO, Decision, decide_rules

from ..builders import (
    create_item,
    incident_event,
    link,
    pd_rule,
    react_item,
    stored,
    verdicts_of,
)

TO_PROGRESS = {"jira_change_status": {"id": "3", "label": "In Progress"}}


def _rule(*items: dict[str, Any], name: str = "ops") -> dict[str, Any]:
    return pd_rule(name, react_on_incident_event=True, react_on_incident_event_config=list(items))


def _react(decision: Decision) -> list[RuleVerdict]:
    return verdicts_of(decision, "react_on_incident_event")


ACK = react_item(("incident.acknowledge",), actions=TO_PROGRESS)


def test_acknowledge_moves_the_issue() -> None:
    rule = stored(_rule(ACK), resolution="Fixed")
    decision = decide_rules(incident_event("incident.acknowledged"), [rule], link())
    (command,) = decision.commands
    assert command == TransitionIssue(
        command_id="ev-1:r1:react_on_incident_event_config[0]:transition",
        correlation_id="ev-1",
        incident=link().incident,
        instance="dc1",
        target_status="In Progress",
        resolution="Fixed",
        caused_at="2020-10-02T18:45:22.169Z",
    )
    (verdict,) = _react(decision)
    assert verdict.matched
    assert verdict.item == "react_on_incident_event_config[0]"
    assert verdict.reason.startswith(
        "event incident.acknowledge in [incident.acknowledge]: yes; "
        "pd_priorities empty (any priority): yes; pd_urgency not set (any urgency): yes; "
        "incident linked to OPS-4: yes; issue on the rule's instance 'dc1': yes; "
        "move OPS-4 to 'In Progress'"
    )


def test_status_param_by_id_only() -> None:
    item = react_item(("incident.resolve",), actions={"jira_change_status": {"id": "10001"}})
    decision = decide_rules(incident_event("incident.resolved"), [stored(_rule(item))], link())
    (command,) = decision.commands
    assert isinstance(command, TransitionIssue)
    assert command.target_status == "10001"


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        ({"jira_field_set_priority": {"name": "High", "id": "2"}}, {"priority": "High"}),
        (
            {"jira_field_set_assignee": {"key": "incident.assignee", "icon": "pd"}},
            {"assignee_pd_user_id": "PTUXL6G"},
        ),
        (
            {"jira_field_set_labels": [{"key": "incident.status", "icon": "pd"}]},
            {"labels": ("acknowledged",)},
        ),
        (
            {
                "jira_append_description": [
                    {
                        "key": "incident.acknowledgements.acknowledger.name",
                        "label": "Acked by",
                        "icon": "pd",
                    }
                ]
            },
            {"append_description": "Acked by: Tenex Engineer"},
        ),
        (
            {
                "jira_field_set_customfield_10030": [
                    {"key": "incident.priority.summary", "icon": "pd"}
                ]
            },
            {"fields": {"customfield_10030": "P1"}},
        ),
    ],
)
def test_field_actions_make_one_update(actions: dict[str, Any], expected: dict[str, Any]) -> None:
    item = react_item(("incident.acknowledge",), actions=actions)
    decision = decide_rules(incident_event("incident.acknowledged"), [stored(_rule(item))], link())
    (command,) = decision.commands
    assert isinstance(command, UpdateIssueFields)
    assert command.command_id == "ev-1:r1:react_on_incident_event_config[0]:fields"
    assert command.caused_at == "2020-10-02T18:45:22.169Z"
    for name, value in expected.items():
        assert getattr(command, name) == value


def test_status_and_fields_of_one_item() -> None:
    item = react_item(
        ("incident.assign",),
        actions={
            **TO_PROGRESS,
            "jira_field_set_assignee": {"key": "incident.assignee", "icon": "pd"},
            "jira_field_set_priority": {"name": "High"},
        },
    )
    decision = decide_rules(incident_event("incident.reassigned"), [stored(_rule(item))], link())
    transition, update = decision.commands
    assert isinstance(transition, TransitionIssue)
    assert isinstance(update, UpdateIssueFields)
    assert (update.assignee_pd_user_id, update.priority) == ("PTUXL6G", "High")


def test_unlinked_incident_is_not_reacted_to() -> None:
    decision = decide_rules(incident_event("incident.acknowledged"), [stored(_rule(ACK))], None)
    assert decision.commands == ()
    assert _react(decision)[0].reason.endswith(
        "incident not linked (and this rule does not create issues)"
    )


def _creating(*conditions: dict[str, Any]) -> dict[str, Any]:
    """A rule that also creates issues, one autocreate item per condition."""
    rule = _rule(ACK)
    rule["config"]["autocreate_issues"] = True
    rule["config"]["autocreate_issues_config"] = [create_item(**c) for c in conditions]
    return rule


@pytest.mark.parametrize(
    ("conditions", "waits"),
    [
        ([{}], True),  # any trigger creates: the ack waits for the issue
        ([{"urgency": "high"}], True),
        ([{"urgency": "low"}], False),  # this incident (high) got no issue from the rule
        ([{"priorities": ({"label": "P2"},)}], False),  # it is P1
        ([{"urgency": "low"}, {"urgency": "high"}], True),  # the second item fits
    ],
)
def test_ack_before_the_link_waits_when_the_rule_creates_the_issue(
    conditions: list[dict[str, Any]], waits: bool
) -> None:
    """Acknowledged right after the trigger, before the issue exists: per-entity order, the
    transition waits for the link instead of being dropped (when the rule makes the issue)."""
    rule = stored(_creating(*conditions))
    decision = decide_rules(incident_event("incident.acknowledged"), [rule], None)
    verdict = _react(decision)[0]
    if waits:
        (command,) = decision.commands
        assert isinstance(command, TransitionIssue)
        assert command.target_status == "In Progress"
        assert "the writer waits for the link" in verdict.reason
        assert "move its issue once created to 'In Progress'" in verdict.reason
    else:
        assert decision.commands == ()
        assert verdict.reason.endswith("incident not linked (and this rule does not create issues)")


def test_issue_on_another_instance() -> None:
    decision = decide_rules(
        incident_event("incident.acknowledged"), [stored(_rule(ACK))], link(instance="dc2")
    )
    assert decision.commands == ()
    assert "issue OPS-4 is on instance 'dc2', not the rule's instance 'dc1'" in (
        _react(decision)[0].reason
    )


@pytest.mark.parametrize(("key", "acts"), [("HD-4", True), ("OPS-4", False)])
def test_target_project_must_be_the_issue_project(key: str, acts: bool) -> None:
    item = react_item(("incident.acknowledge",), actions=TO_PROGRESS, target_project={"key": "HD"})
    decision = decide_rules(
        incident_event("incident.acknowledged"), [stored(_rule(item))], link(key=key)
    )
    assert bool(decision.commands) is acts
    project = key.split("-")[0]
    fact = "is target_project HD: yes" if acts else "is not target_project HD: no"
    assert f"issue project {project} {fact}" in _react(decision)[0].reason


def test_first_status_change_wins_across_items_and_rules() -> None:
    done = react_item(("incident.acknowledge",), actions={"jira_change_status": {"label": "Done"}})
    first = stored(_rule(ACK, done, name="first"), rule_id="r1")
    second = stored(_rule(ACK, name="second"), rule_id="r2")
    decision = decide_rules(incident_event("incident.acknowledged"), [first, second], link())
    (command,) = decision.commands
    assert isinstance(command, TransitionIssue)
    assert command.target_status == "In Progress"
    later = _react(decision)[1:]
    assert [v.matched for v in later] == [False, False]
    assert all(
        "rule 'first' (react_on_incident_event_config[0]) already changes the status of OPS-4"
        in v.reason
        for v in later
    )


def test_status_echo_is_not_reflected() -> None:
    decision = decide_rules(
        incident_event("incident.acknowledged"),
        [stored(_rule(ACK))],
        link(),
        echoes=frozenset({"status"}),
    )
    assert decision.commands == ()
    (verdict,) = _react(decision)
    assert verdict.reason.startswith(f"{ECHO}: pdjira set the incident's status")
    assert "jira_change_status In Progress not applied" in verdict.reason


def test_status_echo_keeps_the_other_fields() -> None:
    item = react_item(
        ("incident.acknowledge",),
        actions={**TO_PROGRESS, "jira_field_set_labels": [{"key": "acked", "icon": "text"}]},
    )
    decision = decide_rules(
        incident_event("incident.acknowledged"),
        [stored(_rule(item))],
        link(),
        echoes=frozenset({"status"}),
    )
    (command,) = decision.commands
    assert isinstance(command, UpdateIssueFields)
    assert command.labels == ("acked",)
    assert f"jira_change_status In Progress: {ECHO}, not applied" in _react(decision)[0].reason


def test_priority_echo_drops_the_priority() -> None:
    item = react_item(
        ("incident.acknowledge",), actions={"jira_field_set_priority": {"name": "High"}}
    )
    decision = decide_rules(
        incident_event("incident.acknowledged"),
        [stored(_rule(item))],
        link(),
        echoes=frozenset({"priority"}),
    )
    assert decision.commands == ()
    assert _react(decision)[0].reason.startswith(f"{ECHO}: pdjira set the incident's priority")


def test_condition_failure_names_each_condition() -> None:
    item = react_item(("incident.resolve",), urgency="low", actions=TO_PROGRESS)
    decision = decide_rules(incident_event("incident.acknowledged"), [stored(_rule(item))], link())
    assert _react(decision)[0].reason == (
        "event incident.acknowledge not in [incident.resolve]: no; "
        "pd_priorities empty (any priority): yes; urgency high != low: no"
    )


def test_nothing_to_apply() -> None:
    item = react_item(("incident.acknowledge",), actions={"pd_resolve": None})
    decision = decide_rules(incident_event("incident.acknowledged"), [stored(_rule(item))], link())
    assert decision.commands == ()
    assert _react(decision)[0].reason.endswith("no Jira action to apply")


@pytest.mark.parametrize(
    "event_type",
    [
        "incident.triggered",
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.resolved",
        "incident.escalated",
        "incident.reassigned",
        "incident.delegated",
    ],
)
def test_no_transition_asks_to_reopen_unless_the_incident_was_reopened(event_type: str) -> None:
    # The writers move an issue out of Done only for reopen=True (an incident.reopened cause).
    every = (
        "incident.trigger",
        "incident.acknowledge",
        "incident.unacknowledge",
        "incident.resolve",
        "incident.escalate",
        "incident.assign",
        "incident.delegate",
    )
    rule = stored(_rule(react_item(every, actions={"jira_change_status": {"label": "Open"}})))
    (command,) = decide_rules(incident_event(event_type), [rule], link()).commands
    assert isinstance(command, TransitionIssue)
    assert command.reopen is False
    assert command.caused_at == "2020-10-02T18:45:22.169Z"
