"""A rule applies to an event or gets one verdict (item None) saying why not."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.contracts import Event, RuleVerdict
from pdjira_rules.engine import decide_rules

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
    status_change,
    stored,
)

CREATES: dict[str, Any] = {"autocreate_issues": True, "autocreate_issues_config": [create_item()]}


def _whole(event: Event, rule: dict[str, Any], **wrapper: Any) -> RuleVerdict:
    decision = decide_rules(event, [stored(rule, **wrapper)], None)
    assert len(decision.verdicts) == 1
    assert decision.commands == ()
    verdict = decision.verdicts[0]
    assert verdict.item is None
    assert not verdict.matched
    return verdict


@pytest.mark.parametrize(
    ("event", "rule", "wrapper", "reason"),
    [
        (incident_event(), pd_rule(enabled=False, **CREATES), {}, "rule disabled"),
        (issue_event(), pd_rule(enabled=False), {}, "rule disabled"),
        (
            incident_event(account="other"),
            pd_rule(**CREATES),
            {},
            "account 'other' is not the rule's account 'acme'",
        ),
        (
            incident_event(data=incident_data(service={"id": "PX", "summary": "Web"})),
            pd_rule(**CREATES),
            {},
            "service Web (PX) not in rule services [API Service]",
        ),
        (
            incident_event(data=incident_data(service=None)),
            pd_rule(**CREATES),
            {},
            "the event names no service",
        ),
        (
            issue_event(),
            pd_rule(),
            {"instance": "dc2"},
            "instance 'dc1' is not the rule's instance 'dc2'",
        ),
        (
            issue_event(fields=issue_fields(project={"id": "10001", "key": "HD"})),
            pd_rule(),
            {},
            "project HD not in rule projects [OPS]",
        ),
        (
            issue_event(fields=issue_fields(issuetype={"id": "1", "name": "Bug"})),
            pd_rule(),
            {},
            "issue type Bug not in rule issue types [Task]",
        ),
    ],
)
def test_rule_out_of_scope(
    event: Event, rule: dict[str, Any], wrapper: dict[str, Any], reason: str
) -> None:
    assert _whole(event, rule, **wrapper).reason == reason


@pytest.mark.parametrize(
    ("event", "services"),
    [
        (incident_event(), [{"id": "PSVC9"}]),  # by id
        (incident_event(), [{"id": "PX", "label": "api service"}]),  # label
        (incident_event(), [{"summary": "API SERVICE"}]),  # summary
        (  # a service named without an id
            incident_event(data=incident_data(service={"summary": "API Service"})),
            [{"id": "PX", "summary": "api service"}],
        ),
    ],
)
def test_service_matches_by_id_or_name(event: Event, services: list[dict[str, Any]]) -> None:
    rule = pd_rule(services=services, **CREATES)
    decision = decide_rules(event, [stored(rule)], None)
    assert [v.item for v in decision.verdicts] == [
        "autocreate_issues_config[0]",
        "react_on_incident_event",
    ]


@pytest.mark.parametrize(
    ("projects", "issue_types"),
    [
        ([{"key": "ops"}], [{"label": "task"}]),  # key and label, any case
        ([{"id": "10000"}], [{"id": "10003"}]),  # ids from issue.fields
        ([{"label": "Operations"}], [{"label": "Task"}]),  # the project's name
    ],
)
def test_project_and_issue_type_match_by_key_id_or_name(
    projects: list[dict[str, Any]], issue_types: list[dict[str, Any]]
) -> None:
    rule = pd_rule(projects=projects, issue_types=issue_types)
    decision = decide_rules(issue_event(status_change("Done")), [stored(rule)], None)
    assert all(v.item is not None for v in decision.verdicts)


def test_note_event_without_service_is_in_scope() -> None:
    rule = pd_rule(sync_comments=True)
    decision = decide_rules(note_event(), [stored(rule)], link())
    assert [v.item for v in decision.verdicts] == ["sync_comments"]
    assert decision.verdicts[0].matched


@pytest.mark.parametrize(
    "event",
    [
        incident_event("incident.reopened"),
        incident_event("incident.responder.added"),
        issue_event(webhook_event="jira:issue_deleted"),
    ],
)
def test_rule_in_scope_but_nothing_concerns_it(event: Event) -> None:
    verdict = _whole(event, pd_rule(**CREATES))
    assert "nothing in this event concerns this rule" in verdict.reason


def test_comment_event_on_rule_of_other_project_is_out_of_scope() -> None:
    rule = pd_rule(sync_comments=True, projects=[{"key": "HD"}])
    assert _whole(comment_event(), rule).reason == "project OPS not in rule projects [HD]"


def test_all_services_and_all_issue_types_widen_the_scope() -> None:
    wide = {"all_services": True, "all_issue_types": True}
    rule = pd_rule(services=[], sync_comments=True, **CREATES)
    other_service = incident_event(data=incident_data(service={"id": "PX", "summary": "Web"}))
    bug = comment_event(fields=issue_fields(issuetype={"id": "1", "name": "Bug"}))
    assert len(decide_rules(other_service, [stored(rule, **wide)], None).commands) == 1
    assert len(decide_rules(bug, [stored(rule, **wide)], link()).commands) == 1
    # The project still scopes Jira events.
    other_project = comment_event(fields=issue_fields(project={"key": "HD"}))
    verdict = _whole(other_project, rule, **wide)
    assert verdict.reason == "project HD not in rule projects [OPS]"
