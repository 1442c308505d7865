"""The audit: every rule gets verdicts for every event, in rule order; PagerDuty's own example
rule behaves as its integration describes."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.contracts import (
    CreateIncident,
    CreateIssue,
    Event,
    TransitionIssue,
    UpdateIncident,
    UpdateIncidentFields,
    UpdateIssueFields,
)
from pdjira_rules.engine import decide_rules
from pdjira_rules.rule_model import StoredRule

from rules.model.examples import example_rules

from ..builders import (
    comment_event,
    create_item,
    incident_data,
    incident_event,
    issue_event,
    issue_fields,
    link,
    note_event,
    pd_rule,
    priority_change,
    status_change,
    stored,
)

EXAMPLE: dict[str, Any] = example_rules()[0][1]
SERVICE = {"id": "PLW70S2", "summary": "Jira Integration"}
P1 = {"id": "PZQ39X0", "summary": "P1"}


def _example(**wrapper: Any) -> StoredRule:
    return stored(EXAMPLE, rule_id="sample", **wrapper)


def _pd(event_type: str, urgency: str = "high") -> Any:
    return incident_event(
        event_type, data=incident_data(service=SERVICE, priority=P1, urgency=urgency)
    )


def _jira(*changes: Any, **overrides: Any) -> Any:
    fields = issue_fields(
        project={"id": "10000", "key": "PD"}, issuetype={"id": "10004", "name": "Bug"}
    )
    return issue_event(*changes, key="PD-4", fields=fields, **overrides)


EVENTS: list[Event] = [
    incident_event(),
    incident_event("incident.acknowledged"),
    incident_event("incident.priority_updated"),
    incident_event("incident.reopened"),
    note_event(),
    issue_event(),
    issue_event(status_change("Done")),
    issue_event(priority_change("High")),
    issue_event(webhook_event="jira:issue_created"),
    comment_event(),
]


@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("the_link", [None, link()])
def test_every_rule_gets_a_verdict_in_order(event: Event, the_link: Any) -> None:
    rules = [
        stored(pd_rule("disabled", enabled=False), rule_id="r0"),
        stored(pd_rule("plain"), rule_id="r1"),
        _example(account="acme", instance="dc1", priority_map={"P1": "Highest"}),
        stored(pd_rule("elsewhere"), rule_id="r3", account="globex", instance="dc9"),
    ]
    decision = decide_rules(event, rules, the_link)
    names = [v.rule for v in decision.verdicts]
    assert set(names) == {"disabled", "plain", "Sample Rule", "elsewhere"}
    assert names == sorted(names, key=["disabled", "plain", "Sample Rule", "elsewhere"].index)
    assert all(v.reason for v in decision.verdicts)
    assert decision.verdicts[0].reason == "rule disabled"
    assert decision.verdicts[-1].item is None


def test_example_trigger_creates_one_story_with_the_long_description() -> None:
    decision = decide_rules(_pd("incident.triggered"), [_example()], None)
    (command,) = decision.commands
    assert isinstance(command, CreateIssue)
    assert (command.project, command.issue_type) == ("PD", "Story")
    assert command.description.splitlines()[0] == "Incident title: A little bump in the road"
    assert "Incident assignee: User 123" in command.description
    assert command.description.endswith("And my custom text")
    items = [(v.item, v.matched) for v in decision.verdicts]
    assert items[:3] == [
        ("autocreate_issues_config[0]", True),
        ("autocreate_issues_config[1]", False),
        ("autocreate_issues_config[2]", False),
    ]


def test_example_low_urgency_trigger_matches_nothing() -> None:
    # Low urgency items want P3-P5; the event is P1.
    decision = decide_rules(_pd("incident.triggered", urgency="low"), [_example()], None)
    assert decision.commands == ()
    assert not any(v.matched for v in decision.verdicts)


@pytest.mark.parametrize(
    ("event_type", "kind", "target"),
    [
        ("incident.acknowledged", TransitionIssue, "In Progress"),
        ("incident.unacknowledged", TransitionIssue, "To Do"),
        ("incident.resolved", TransitionIssue, "Done"),
        ("incident.reassigned", UpdateIssueFields, None),
    ],
)
def test_example_reactions(event_type: str, kind: type, target: str | None) -> None:
    decision = decide_rules(_pd(event_type), [_example()], link(key="PD-4"))
    (command,) = decision.commands
    assert isinstance(command, kind)
    if isinstance(command, TransitionIssue):
        assert command.target_status == target
    else:
        assert isinstance(command, UpdateIssueFields)
        assert command.assignee_pd_user_id == "PTUXL6G"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (status_change("In Progress", to_id="3"), "acknowledged"),
        (status_change("Done", to_id="10001"), "resolved"),
        (status_change("To Do", to_id="10000"), ("PDU13T4", "PKH7YP2")),
    ],
)
def test_example_status_changes(status: Any, expected: Any) -> None:
    decision = decide_rules(_jira(status), [_example()], link(key="PD-4"))
    (command,) = decision.commands
    if isinstance(command, UpdateIncident):
        assert command.status == expected
    else:
        assert isinstance(command, UpdateIncidentFields)
        assert command.add_responders == expected


def test_example_bug_creates_an_incident_with_p1() -> None:
    decision = decide_rules(_jira(webhook_event="jira:issue_created"), [_example()], None)
    (command,) = decision.commands
    assert isinstance(command, CreateIncident)
    assert (command.service_id, command.priority) == ("PR5R1T1", "P1")


def test_reasons_name_each_condition() -> None:
    rule = stored(
        pd_rule(
            autocreate_issues=True,
            autocreate_issues_config=[
                create_item(
                    ("incident.trigger",),
                    priorities=({"id": "P1ID", "label": "P1"}, {"id": "P2ID", "label": "P2"}),
                    urgency="high",
                )
            ],
        )
    )
    event = incident_event(data=incident_data(priority={"summary": "P3"}))
    (verdict, _) = decide_rules(event, [rule], None).verdicts
    assert verdict.reason == (
        "event incident.trigger in [incident.trigger]: yes; priority P3 not in [P1, P2]: no; "
        "urgency high == high: yes"
    )
