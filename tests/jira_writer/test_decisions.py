"""The jira-writer's pure decisions: idempotency label and create body, transition choice."""

from __future__ import annotations

import pytest
from pdjira_common.contracts import CreateIssue, IncidentRef
from pdjira_jira_writer.idempotency import (
    MAX_SUMMARY,
    create_fields,
    idempotency_label,
    issue_properties,
    jql_string,
    label_jql,
    summary_line,
)
from pdjira_jira_writer.models import (
    IssueFields,
    IssueSnapshot,
    StatusRef,
    Transition,
    TransitionField,
)
from pdjira_jira_writer.transitions import (
    NoTransition,
    TransitionPlan,
    choose_transition,
    same_status,
)
from pdjira_jira_writer.writer import pick_existing

INCIDENT = IncidentRef(account="acme", incident_id="Q3B15VLMF3ASBD")


def command(**overrides: object) -> CreateIssue:
    values: dict[str, object] = {
        "command_id": "c1",
        "correlation_id": "e1",
        "incident": INCIDENT,
        "instance": "dc1",
        "project": "OPS",
        "issue_type": "Task",
        "summary": "Disk full on db-1",
        "description": "from PagerDuty",
    }
    values.update(overrides)
    return CreateIssue(**values)  # type: ignore[arg-type]


def test_idempotency_label() -> None:
    assert idempotency_label(INCIDENT) == "pdjira-acme-Q3B15VLMF3ASBD"
    assert label_jql("pdjira-acme-Q3B15VLMF3ASBD") == 'labels = "pdjira-acme-Q3B15VLMF3ASBD"'


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("two\nlines\tand tab", '"two lines and tab"'),
    ],
)
def test_jql_string(value: str, literal: str) -> None:
    assert jql_string(value) == literal


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ("Disk full", "Disk full"),
        ("line one\nline two\r\n", "line one line two"),
        ("   ", "(no title)"),
        ("x" * 300, "x" * (MAX_SUMMARY - 1) + "…"),
    ],
)
def test_summary_line(summary: str, expected: str) -> None:
    assert summary_line(summary) == expected
    assert len(summary_line(summary)) <= MAX_SUMMARY


def test_create_fields_add_the_label_once_and_keep_the_rule_labels() -> None:
    fields = create_fields(
        command(labels=("pagerduty", "pdjira-acme-Q3B15VLMF3ASBD"), priority="High")
    )
    assert fields == {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Task"},
        "summary": "Disk full on db-1",
        "description": "from PagerDuty",
        "labels": ["pagerduty", "pdjira-acme-Q3B15VLMF3ASBD"],
        "priority": {"name": "High"},
    }
    assert "priority" not in create_fields(command())
    assert issue_properties(INCIDENT) == [
        {"key": "pdjira", "value": {"account": "acme", "incident_id": "Q3B15VLMF3ASBD"}}
    ]


def snapshot(issue_id: str, *labels: str) -> IssueSnapshot:
    return IssueSnapshot(id=issue_id, key=f"OPS-{issue_id}", fields=IssueFields(labels=labels))


@pytest.mark.parametrize(
    ("issues", "expected"),
    [
        ((), None),
        ((snapshot("10002", "L"),), "10002"),
        ((snapshot("10010", "L"), snapshot("9999", "L")), "9999"),  # oldest by numeric id
        ((snapshot("10001", "other"), snapshot("10005", "L")), "10005"),  # must carry the label
        ((snapshot("10001", "other"),), None),
        ((snapshot("10007", "l"),), "10007"),  # labels match case-insensitively, as in JQL
    ],
)
def test_pick_existing(issues: tuple[IssueSnapshot, ...], expected: str | None) -> None:
    found = pick_existing(issues, "L")
    assert (found.id if found else None) == expected


def transition(
    tid: str, to: str, *, fields: dict[str, TransitionField] | None = None, name: str = ""
) -> Transition:
    return Transition(id=tid, name=name or f"to {to}", to=StatusRef(name=to), fields=fields or {})


RESOLUTION_FIELD = {"resolution": TransitionField(required=True, name="Resolution")}
OPEN = [
    transition("11", "In Progress"),
    transition("31", "Done", fields=RESOLUTION_FIELD),
    transition("41", "Closed"),
]


@pytest.mark.parametrize(
    ("target", "resolution", "transitions", "plan"),
    [
        ("In Progress", None, OPEN, TransitionPlan("11", "to In Progress", "In Progress", {})),
        ("in progress", None, OPEN, TransitionPlan("11", "to In Progress", "In Progress", {})),
        (
            "Done",
            "Fixed",
            OPEN,
            TransitionPlan("31", "to Done", "Done", {"resolution": {"name": "Fixed"}}),
        ),
        # resolution only where the transition's screen has the field
        ("Closed", "Fixed", OPEN, TransitionPlan("41", "to Closed", "Closed", {})),
        # two ways to Done: the one that takes the resolution wins when one is given
        (
            "Done",
            "Fixed",
            [transition("5", "Done"), transition("6", "Done", fields=RESOLUTION_FIELD)],
            TransitionPlan("6", "to Done", "Done", {"resolution": {"name": "Fixed"}}),
        ),
        # ... and without one, the one with no required field we could not fill
        (
            "Done",
            None,
            [transition("6", "Done", fields=RESOLUTION_FIELD), transition("5", "Done")],
            TransitionPlan("5", "to Done", "Done", {}),
        ),
    ],
)
def test_choose_transition(
    target: str, resolution: str | None, transitions: list[Transition], plan: TransitionPlan
) -> None:
    chosen = choose_transition(
        issue_key="OPS-1",
        current="Open",
        target=target,
        transitions=transitions,
        resolution=resolution,
    )
    assert chosen == plan


def test_no_direct_transition_names_current_and_reachable_statuses() -> None:
    chosen = choose_transition(
        issue_key="OPS-1",
        current="Open",
        target="Resolved",
        transitions=[*OPEN, transition("12", "In Progress", name="Start")],
    )
    assert isinstance(chosen, NoTransition)
    assert chosen.reachable == ("In Progress", "Done", "Closed")
    assert "OPS-1 is in status 'Open'" in chosen.reason
    assert "'Resolved'" in chosen.reason
    assert "'In Progress', 'Done', 'Closed'" in chosen.reason
    assert "add a transition" in chosen.reason


def test_no_transition_at_all_points_at_permissions() -> None:
    chosen = choose_transition(issue_key="OPS-1", current="Open", target="Done", transitions=[])
    assert isinstance(chosen, NoTransition)
    assert chosen.reachable == ()
    assert "Transition Issues permission" in chosen.reason


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("Done", "done", True), (" In Progress", "IN PROGRESS ", True), ("Done", "Closed", False)],
)
def test_same_status(a: str, b: str, same: bool) -> None:
    assert same_status(a, b) is same
