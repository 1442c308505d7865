"""autocreate_incidents: one CreateIncident per unlinked issue matching an item's JQL."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.contracts import CreateIncident, Event, IssueEventV1, RuleVerdict, upgrade_event
from pdjira_rules.engine import Decision, decide_rules, jql_questions

from ..builders import (
    compiled,
    incident_event,
    issue_event,
    issue_fields,
    jql_item,
    link,
    pd_rule,
    priority_change,
    simple_rule,
    status_item,
    stored,
    verdicts_of,
)

CREATED = {"webhook_event": "jira:issue_created", "issue_event_type": "issue_created"}
UNKNOWN_JQL = '"Customer Tier" = Gold'  # a custom field by name: only Jira knows its id


def _rule(*items: dict[str, Any], name: str = "ops", **config: Any) -> dict[str, Any]:
    return pd_rule(
        name, autocreate_incidents=True, autocreate_incidents_config=list(items), **config
    )


def _verdicts(decision: Decision) -> list[RuleVerdict]:
    return verdicts_of(decision, "autocreate_incidents")


def test_created_issue_matching_locally() -> None:
    rule = stored(_rule(jql_item("project = OPS AND priority = Medium")))
    decision = decide_rules(issue_event(**CREATED), [rule], None)
    (command,) = decision.commands
    assert command == CreateIncident(
        command_id="incident-for:dc1:10100",
        correlation_id="jira:dc1:abc",
        account="acme",
        service_id="PSVC9",
        title="OPS-4: Database down",
        body="The primary is gone.",
        issue=issue_event().issue,
        caused_at="2019-08-14T03:02:33.680000+00:00",  # the webhook's time
    )
    (verdict,) = _verdicts(decision)
    assert verdict.matched
    assert verdict.reason.startswith(
        "on_create is on for jira:issue_created: yes; issue not linked: yes; "
        "issue matches JQL `project = OPS AND priority = Medium` (locally): yes; "
        "create an incident on service API Service (PSVC9)"
    )


def test_local_false() -> None:
    decision = decide_rules(
        issue_event(**CREATED), [stored(_rule(jql_item("priority = High")))], None
    )
    assert decision.commands == ()
    assert _verdicts(decision)[0].reason.endswith(
        "issue does not match JQL `priority = High` (locally): no"
    )


@pytest.mark.parametrize(
    ("answers", "created", "reason"),
    [
        ({}, False, f"JQL `{UNKNOWN_JQL}` cannot be decided locally and Jira's answer is missing"),
        (
            {UNKNOWN_JQL: True},
            True,
            f"JQL `{UNKNOWN_JQL}` undecided locally; Jira's search returned the issue: yes",
        ),
        (
            {UNKNOWN_JQL: False},
            False,
            f"JQL `{UNKNOWN_JQL}` undecided locally; Jira's search did not return the issue: no",
        ),
    ],
)
def test_unknown_locally_asks_jira(answers: dict[str, bool], created: bool, reason: str) -> None:
    rules = [stored(_rule(jql_item(UNKNOWN_JQL)))]
    event = issue_event(**CREATED)
    assert jql_questions(event, rules, None) == (UNKNOWN_JQL,)
    decision = decide_rules(event, rules, None, jira_answers=answers)
    assert bool(decision.commands) is created
    assert reason in _verdicts(decision)[0].reason


@pytest.mark.parametrize(
    ("webhook", "on_create", "on_update", "fires", "fact"),
    [
        ("jira:issue_created", True, False, True, "on_create is on for jira:issue_created: yes"),
        ("jira:issue_created", False, True, False, "on_create is off for jira:issue_created: no"),
        ("jira:issue_updated", False, True, True, "on_update is on for jira:issue_updated: yes"),
        ("jira:issue_updated", True, False, False, "on_update is off for jira:issue_updated: no"),
    ],
)
def test_on_create_vs_on_update(
    webhook: str, on_create: bool, on_update: bool, fires: bool, fact: str
) -> None:
    item = jql_item("project = OPS", on_create=on_create, on_update=on_update)
    rules = [stored(_rule(item))]
    decision = decide_rules(issue_event(webhook_event=webhook), rules, None)
    assert bool(decision.commands) is fires
    assert fact in _verdicts(decision)[0].reason


def test_update_rematch_is_the_same_command() -> None:
    item = jql_item("project = OPS", on_create=True, on_update=True)
    rules = [stored(_rule(item))]
    created = decide_rules(issue_event(**CREATED), rules, None).commands
    updated = decide_rules(issue_event(event_id="jira:dc1:def"), rules, None).commands
    assert [c.command_id for c in created] == [c.command_id for c in updated]


def test_linked_issue_never_gets_a_second_incident() -> None:
    rules = [stored(_rule(jql_item(UNKNOWN_JQL, on_update=True)))]
    event = issue_event()
    assert jql_questions(event, rules, link()) == ()
    decision = decide_rules(event, rules, link(), jira_answers={UNKNOWN_JQL: True})
    assert decision.commands == ()
    assert _verdicts(decision)[0].reason.endswith(
        "issue already linked to incident PGR0VU2; an issue never gets a second incident"
    )


def test_two_rules_matching_create_one_incident() -> None:
    first = stored(_rule(jql_item("project = OPS"), name="first"), rule_id="r1")
    second = stored(_rule(jql_item("project = OPS"), name="second"), rule_id="r2")
    decision = decide_rules(issue_event(**CREATED), [first, second], None)
    assert len(decision.commands) == 1
    assert _verdicts(decision)[1].reason.endswith(
        "rule 'first' (autocreate_incidents_config[0]) already creates the incident "
        "(one incident per issue)"
    )


def test_questions_stop_at_the_first_local_match() -> None:
    rules = [
        stored(
            _rule(jql_item(UNKNOWN_JQL), jql_item("project = OPS"), jql_item("labels = x = ")),
            rule_id="r1",
        ),
        stored(_rule(jql_item('"Other Field" = 1')), rule_id="r2"),
    ]
    assert jql_questions(issue_event(**CREATED), rules, None) == (UNKNOWN_JQL,)


@pytest.mark.parametrize(
    ("event", "rules"),
    [
        (incident_event(), [stored(_rule(jql_item(UNKNOWN_JQL)))]),  # not an issue event
        (issue_event(**CREATED), [stored(_rule(jql_item(UNKNOWN_JQL), name="x"), instance="dc2")]),
        (
            issue_event(**CREATED),
            [
                stored(
                    pd_rule(
                        autocreate_incidents=False,
                        autocreate_incidents_config=[jql_item(UNKNOWN_JQL)],
                    )
                )
            ],
        ),
        (issue_event(**CREATED), [stored(_rule(jql_item(UNKNOWN_JQL, on_create=False)))]),
        (issue_event(**CREATED), [stored(_rule(jql_item(UNKNOWN_JQL)) | {"enabled": False})]),
        (issue_event(**CREATED), [stored(_rule(jql_item("project = ")))]),  # does not parse
    ],
)
def test_no_questions(event: Event, rules: list[Any]) -> None:
    assert jql_questions(event, rules, None) == ()


def test_unparsable_jql_is_a_skip() -> None:
    decision = decide_rules(issue_event(**CREATED), [stored(_rule(jql_item("project = ")))], None)
    assert decision.commands == ()
    assert "JQL `project = ` does not parse" in _verdicts(decision)[0].reason


def test_pd_actions_target_service_and_maps() -> None:
    item = jql_item(
        "project = OPS",
        target_service={"id": "PR5R1T1", "type": "service_reference"},
        actions={
            "pd_set_priority": {"id": "PZQ39X0", "label": "P1"},
            "pd_add_responders": [{"id": "PU1"}],
            "jira_field_set_labels": [{"key": "paged", "icon": "text"}],
        },
    )
    rule = stored(_rule(item), urgency_map={"medium": "low"}, priority_map={"P3": "Medium"})
    decision = decide_rules(issue_event(**CREATED), [rule], None)
    (command,) = decision.commands
    assert isinstance(command, CreateIncident)
    assert (command.service_id, command.priority, command.add_responders) == (
        "PR5R1T1",
        "P1",
        ("PU1",),
    )
    assert command.urgency == "low"
    assert "jira_field_set_labels: Jira actions of this section are not applied" in (
        _verdicts(decision)[0].reason
    )


@pytest.mark.parametrize(
    ("wrapper", "priority", "urgency"),
    [
        ({"priority_map": {"P3": "Medium"}, "urgency_map": {"Medium": "high"}}, "P3", "high"),
        ({"priority_map": {"P3": "Medium"}, "sync_priority": False}, None, None),
        ({"priority_map": {"P1": "Highest"}}, None, None),  # unmapped
    ],
)
def test_priority_and_urgency_from_the_maps(
    wrapper: dict[str, Any], priority: str | None, urgency: str | None
) -> None:
    rule = stored(_rule(jql_item("project = OPS")), **wrapper)
    (command,) = decide_rules(issue_event(**CREATED), [rule], None).commands
    assert isinstance(command, CreateIncident)
    assert (command.priority, command.urgency) == (priority, urgency)


def test_title_is_one_line_within_pagerduty_limit_and_body_falls_back() -> None:
    fields = issue_fields(description=None, summary="x " * 800)
    event = issue_event(fields=fields, **CREATED)
    (command,) = decide_rules(event, [stored(_rule(jql_item("project = OPS")))], None).commands
    assert isinstance(command, CreateIncident)
    assert len(command.title) <= 1024
    assert command.title.startswith("OPS-4: x x")
    assert command.body.startswith("Jira issue OPS-4:")


def test_service_named_without_id_is_passed_by_name_for_pd_writer_to_resolve() -> None:
    item = jql_item("project = OPS", target_service={"summary": "API Service"})
    decision = decide_rules(issue_event(**CREATED), [stored(_rule(item))], None)
    (command,) = decision.commands
    assert isinstance(command, CreateIncident)
    assert command.service_id == "API Service"
    assert "create an incident on service API Service" in _verdicts(decision)[0].reason


def test_service_with_neither_id_nor_name_is_a_skip() -> None:
    item = jql_item("project = OPS", target_service={"type": "service_reference"})
    decision = decide_rules(issue_event(**CREATED), [stored(_rule(item))], None)
    assert decision.commands == ()
    assert _verdicts(decision)[0].reason.endswith("neither an id nor a name")


def test_a_simple_rule_never_creates_incidents_nor_holds_up_a_rule_that_does() -> None:
    rules = [*compiled(simple_rule()), stored(_rule(jql_item("project = OPS")))]
    decision = decide_rules(issue_event(**CREATED), rules, None)
    (command,) = decision.commands
    assert isinstance(command, CreateIncident)
    assert command.command_id == "incident-for:dc1:10100"


def test_a_v1_event_without_raw_fields_is_decided_on_its_flat_fields() -> None:
    # Published by pdjira before typed facts, without the webhook's fields: upgraded.
    old = IssueEventV1(
        event_id="jira:dc1:abc",
        correlation_id="jira:dc1:abc",
        instance="dc1",
        issue_id="10100",
        key="OPS-4",
        webhook_event="jira:issue_created",
        issue_event_type="issue_created",
        timestamp_ms=1565751753680,
        project_key="OPS",
        issue_type="Task",
        status="Open",
        status_category="new",
        summary="Database down",
        priority="High",
        changes=(priority_change("High"),),
    )
    rule = stored(_rule(jql_item("project = OPS AND priority = High AND issuetype = Task")))
    assert len(decide_rules(upgrade_event(old), [rule], None).commands) == 1


DONE_STATUS = {"id": "10001", "name": "Done", "statusCategory": {"key": "done"}}
PROGRESS_STATUS = {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}}


def _reacting_rule(*status_items: dict[str, Any]) -> dict[str, Any]:
    return _rule(
        jql_item("project = OPS", on_update=True),
        react_on_issue_status_change=True,
        react_on_issue_status_change_config=list(status_items),
    )


@pytest.mark.parametrize(
    ("status", "then"),
    [
        pytest.param(DONE_STATUS, "resolved", id="created-done-resolves"),
        pytest.param(PROGRESS_STATUS, "acknowledged", id="in-progress-acknowledges"),
        pytest.param({"id": "1", "name": "Open"}, None, id="open-stays-triggered"),
    ],
)
def test_incident_for_an_issue_already_in_a_reacting_status_takes_that_status(
    status: dict[str, Any], then: str | None
) -> None:
    rule = stored(
        _reacting_rule(
            status_item({"id": "10001", "label": "Done"}, actions={"pd_resolve": None}),
            status_item({"label": "In Progress"}, actions={"pd_acknowledge": None}),
        )
    )
    event = issue_event(fields=issue_fields(status=status), **CREATED)
    decision = decide_rules(event, [rule], None)
    (command,) = decision.commands
    assert isinstance(command, CreateIncident)
    assert command.then_status == then
    assert command.caused_at == "2019-08-14T03:02:33.680000+00:00"
    (verdict,) = _verdicts(decision)
    assert ("the issue is already" in verdict.reason) is (then is not None)


def test_reconciliation_first_seeing_a_done_issue_creates_it_resolved() -> None:
    rule = stored(_reacting_rule(status_item({"label": "Done"}, actions={"pd_resolve": None})))
    event = issue_event(fields=issue_fields(status=DONE_STATUS), origin="reconcile")
    (command,) = decide_rules(event, [rule], None).commands
    assert isinstance(command, CreateIncident)
    assert command.then_status == "resolved"


@pytest.mark.parametrize(
    ("items", "react_on"),
    [
        pytest.param(
            [status_item({"label": "Done"}, actions={"pd_resolve": None})], False, id="section-off"
        ),
        pytest.param(
            [status_item({"label": "Done"}, actions={"pd_reopen": None})], True, id="reopen-only"
        ),
        pytest.param(
            [status_item({"label": "Done"}, actions={"pd_set_priority": {"label": "P1"}})],
            True,
            id="no-status-action",
        ),
    ],
)
def test_no_then_status_without_a_resolving_or_acknowledging_item(
    items: list[dict[str, Any]], react_on: bool
) -> None:
    rule = stored(
        _rule(
            jql_item("project = OPS"),
            react_on_issue_status_change=react_on,
            react_on_issue_status_change_config=items,
        )
    )
    event = issue_event(fields=issue_fields(status=DONE_STATUS), **CREATED)
    (command,) = decide_rules(event, [rule], None).commands
    assert isinstance(command, CreateIncident)
    assert command.then_status is None


def test_first_item_with_a_status_action_decides_then_status() -> None:
    rule = stored(
        _reacting_rule(
            status_item({"label": "Done"}, actions={"pd_set_priority": {"label": "P1"}}),
            status_item({"label": "Done"}, actions={"pd_acknowledge": None}),
            status_item({"label": "Done"}, actions={"pd_resolve": None}),
        )
    )
    event = issue_event(fields=issue_fields(status=DONE_STATUS), **CREATED)
    (command,) = decide_rules(event, [rule], None).commands
    assert isinstance(command, CreateIncident)
    assert command.then_status == "acknowledged"
