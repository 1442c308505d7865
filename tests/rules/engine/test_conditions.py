"""Condition items: pd_events (incl. trigger_manually), pd_priorities, pd_urgency."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.facts import PdAgent
from pdjira_rules.engine.conditions import check_condition
from pdjira_rules.engine.incident_facts import rule_events
from pdjira_rules.engine.trail import Trail
from pdjira_rules.rule_model import CreateIssueCondition, PriorityReference

from ..builders import incident_data, incident_event

P1 = PriorityReference(id="PSO75BM", label="P1")
P2 = PriorityReference(id="POV67SK", label="P2")


@pytest.mark.parametrize(
    ("event_type", "agent_type", "expected"),
    [
        ("incident.triggered", "service_reference", ("incident.trigger",)),
        ("incident.triggered", None, ("incident.trigger",)),
        ("incident.triggered", "user_reference", ("incident.trigger", "incident.trigger_manually")),
        ("incident.acknowledged", "user_reference", ("incident.acknowledge",)),
        ("incident.unacknowledged", None, ("incident.unacknowledge",)),
        ("incident.resolved", None, ("incident.resolve",)),
        ("incident.escalated", None, ("incident.escalate",)),
        ("incident.reassigned", None, ("incident.assign",)),
        ("incident.delegated", None, ("incident.delegate",)),
        ("incident.priority_updated", None, ()),
        ("incident.annotated", None, ()),
    ],
)
def test_rule_events(event_type: str, agent_type: str | None, expected: tuple[str, ...]) -> None:
    assert rule_events(incident_event(event_type, agent=_agent(agent_type))) == expected


def _agent(agent_type: str | None) -> PdAgent | None:
    return PdAgent(id="PLH1HKV", type=agent_type) if agent_type else None


def _check(condition: CreateIssueCondition, **event: Any) -> tuple[bool, str]:
    trail = Trail()
    kind = event.pop("event_type", "incident.triggered")
    if "agent_type" in event:
        event["agent"] = _agent(event.pop("agent_type"))
    ok = check_condition(trail, condition, incident_event(kind, **event))
    return ok, trail.text


NO_PRIORITY: dict[str, Any] = {"data": incident_data(priority=None)}


@pytest.mark.parametrize(
    ("condition", "event", "ok", "reason"),
    [
        (
            CreateIssueCondition(pd_events=("incident.trigger",)),
            {"agent_type": None},
            True,
            "event incident.trigger in [incident.trigger]: yes; "
            "pd_priorities empty (any priority): yes; pd_urgency not set (any urgency): yes",
        ),
        (
            CreateIssueCondition(pd_events=("incident.trigger_manually",)),
            {"agent_type": "user_reference"},
            True,
            "event incident.trigger_manually in [incident.trigger_manually]: yes",
        ),
        (
            CreateIssueCondition(pd_events=("incident.trigger_manually",)),
            {"agent_type": "service_reference"},
            False,
            "event incident.trigger not in [incident.trigger_manually]: no",
        ),
        (
            CreateIssueCondition(pd_events=("incident.resolve",)),
            {"event_type": "incident.acknowledged"},
            False,
            "event incident.acknowledge not in [incident.resolve]: no",
        ),
        # priorities: by id (the name differs), by name (no id in data), none
        (
            CreateIssueCondition(pd_events=("incident.trigger",), pd_priorities=(P1, P2)),
            {"data": incident_data(priority={"id": "PSO75BM", "summary": "Renamed"})},
            True,
            "priority Renamed in [P1, P2]: yes",
        ),
        (
            CreateIssueCondition(pd_events=("incident.trigger",), pd_priorities=(P1, P2)),
            {"data": incident_data(priority={"summary": "p2"})},  # by name: no id
            True,
            "priority p2 in [P1, P2]: yes",
        ),
        (
            CreateIssueCondition(
                pd_events=("incident.trigger",), pd_priorities=(PriorityReference(summary="P1"),)
            ),
            {"data": incident_data(priority={"summary": "P1"})},
            True,
            "priority P1 in [P1]: yes",
        ),
        (
            CreateIssueCondition(pd_events=("incident.trigger",), pd_priorities=(P2,)),
            {"data": incident_data(priority={"id": "P0A95OH", "summary": "P3"})},
            False,
            "priority P3 not in [P2]: no",
        ),
        (
            CreateIssueCondition(pd_events=("incident.trigger",), pd_priorities=(P1,)),
            NO_PRIORITY,
            False,
            "incident has no priority; pd_priorities [P1]: no",
        ),
        # urgency
        (
            CreateIssueCondition(pd_events=("incident.trigger",), pd_urgency="high"),
            {},
            True,
            "urgency high == high: yes",
        ),
        (
            CreateIssueCondition(pd_events=("incident.trigger",), pd_urgency="high"),
            {"data": incident_data(urgency="low")},
            False,
            "urgency low != high: no",
        ),
        (
            CreateIssueCondition(pd_events=("incident.trigger",), pd_urgency="low"),
            {"data": incident_data(urgency=None)},
            False,
            "urgency unknown != low: no",
        ),
    ],
)
def test_condition(
    condition: CreateIssueCondition, event: dict[str, Any], ok: bool, reason: str
) -> None:
    got_ok, text = _check(condition, **event)
    assert got_ok is ok
    assert reason in text


def test_every_part_is_checked_even_after_a_failure() -> None:
    condition = CreateIssueCondition(
        pd_events=("incident.resolve",), pd_priorities=(P2,), pd_urgency="low"
    )
    ok, text = _check(condition, agent_type=None)
    assert not ok
    assert text == (
        "event incident.trigger not in [incident.resolve]: no; "
        "priority P1 not in [P2]: no; urgency high != low: no"
    )
