"""Priority-only sync through priority_map (PagerDuty -> Jira) and its inverse (Jira -> PD)."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.contracts import UpdateIncidentFields, UpdateIssueFields
from pdjira_rules.engine import ECHO, decide_rules

from ..builders import (
    incident_data,
    incident_event,
    issue_event,
    link,
    pd_rule,
    priority_change,
    stored,
)

MAP = {"P1": "Highest", "P2": "High", "P3": "Medium"}


def _updated(priority: str | None) -> Any:
    return incident_event(
        "incident.priority_updated",
        data=incident_data(priority={"summary": priority} if priority else None),
    )


@pytest.mark.parametrize(("pd", "jira"), [("P2", "High"), ("p3", "Medium")])
def test_pd_priority_to_jira(pd: str, jira: str) -> None:
    decision = decide_rules(_updated(pd), [stored(pd_rule(), priority_map=MAP)], link())
    assert decision.commands == (
        UpdateIssueFields(
            command_id="ev-1:r1:priority_sync",
            correlation_id="ev-1",
            incident=link().incident,
            instance="dc1",
            priority=jira,
            caused_at="2020-10-02T18:45:22.169Z",
        ),
    )
    (verdict,) = decision.verdicts
    assert (verdict.item, verdict.matched) == ("priority_sync", True)


@pytest.mark.parametrize(
    ("jira", "pd", "urgency", "urgency_map"),
    [
        ("High", "P2", None, {}),
        ("highest", "P1", "high", {"Highest": "high"}),
        ("Low", None, "low", {"low": "low"}),  # only the urgency is mapped
    ],
)
def test_jira_priority_to_pd(
    jira: str, pd: str | None, urgency: str | None, urgency_map: dict[str, str]
) -> None:
    rule = stored(pd_rule(), priority_map=MAP, urgency_map=urgency_map)
    decision = decide_rules(issue_event(priority_change(jira)), [rule], link())
    assert decision.commands == (
        UpdateIncidentFields(
            command_id="jira:dc1:abc:r1:priority_sync",
            correlation_id="jira:dc1:abc",
            incident=link().incident,
            priority=pd,
            urgency=urgency,
            cause=link().issue,
            actor_user_key="JIRAUSER10100",
            caused_at="2019-08-14T03:02:33.680000+00:00",
        ),
    )


@pytest.mark.parametrize(
    ("event", "wrapper", "kwargs", "reason"),
    [
        (
            _updated("P5"),
            {"priority_map": MAP},
            {},
            "priority P5 not in priority_map; mapped: [P1, P2, P3]",
        ),
        (
            issue_event(priority_change("Lowest")),
            {"priority_map": MAP},
            {},
            "Jira priority Lowest not in priority_map values; mapped: [Highest, High, Medium]",
        ),
        (_updated(None), {"priority_map": MAP}, {}, "incident has no priority (removed)"),
        (_updated("P1"), {"priority_map": MAP, "sync_priority": False}, {}, "sync_priority is off"),
        (_updated("P1"), {}, {}, "priority_map is empty"),
        (
            _updated("P1"),
            {"priority_map": MAP},
            {"echoes": frozenset({"priority"})},
            f"{ECHO}: pdjira set the incident's priority",
        ),
        (
            issue_event(priority_change("High")),
            {"priority_map": MAP},
            {"echoes": frozenset({"priority"})},
            f"{ECHO}: pdjira set the priority of OPS-4",
        ),
        (_updated("P1"), {"priority_map": MAP}, {"link": None}, "is not linked to an issue"),
        (
            issue_event(priority_change("High")),
            {"priority_map": MAP},
            {"link": None},
            "issue OPS-4 is not linked to an incident",
        ),
        (
            _updated("P1"),
            {"priority_map": MAP},
            {"link": link(instance="dc2")},
            "not the rule's instance 'dc1'",
        ),
        (
            issue_event(priority_change("High")),
            {"priority_map": MAP},
            {"link": link(account="globex")},
            "not the rule's account 'acme'",
        ),
    ],
)
def test_not_synced(
    event: Any, wrapper: dict[str, Any], kwargs: dict[str, Any], reason: str
) -> None:
    the_link = kwargs.pop("link", link())
    decision = decide_rules(event, [stored(pd_rule(), **wrapper)], the_link, **kwargs)
    assert decision.commands == ()
    (verdict,) = [v for v in decision.verdicts if v.item == "priority_sync"]
    assert reason in verdict.reason


def test_one_priority_sync_across_rules() -> None:
    rules = [
        stored(pd_rule("a"), rule_id="r1", priority_map=MAP),
        stored(pd_rule("b"), rule_id="r2", priority_map=MAP),
    ]
    decision = decide_rules(_updated("P1"), rules, link())
    assert len(decision.commands) == 1
    assert "rule 'a' (priority_sync) already syncs the priority" in decision.verdicts[1].reason
