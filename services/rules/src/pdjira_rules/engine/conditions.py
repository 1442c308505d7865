"""The ``condition`` of autocreate_issues / react_on_incident_event items: pd_events,
pd_priorities (empty: any), pd_urgency (None: any). Every part is checked and recorded."""

from __future__ import annotations

from functools import lru_cache

from pdjira_common.contracts import IncidentEvent

from pdjira_rules.engine.incident_facts import priority_of, rule_events
from pdjira_rules.engine.refs import listing, matches, shown
from pdjira_rules.engine.trail import Trail
from pdjira_rules.rule_model import CreateIssueCondition, StoredRule, UpdateIssueCondition

__all__ = ["check_condition", "creates_issue_for"]


Condition = CreateIssueCondition | UpdateIssueCondition
# What of an incident event a condition reads: its rule events, event type, priority (id,
# name) and urgency.
_Facts = tuple[tuple[str, ...], str, str | None, str | None, str | None]


def check_condition(trail: Trail, condition: Condition, event: IncidentEvent) -> bool:
    """Record each part of ``condition`` on ``trail``; whether all of them hold."""
    steps, ok = _checked(condition, _facts(event))
    trail.extend(steps)
    return ok


def _facts(event: IncidentEvent) -> _Facts:
    the_id, the_name = priority_of(event)
    urgency = event.facts.urgency if event.facts is not None else None
    return rule_events(event), event.event_type, the_id, the_name, urgency


# A condition's checks are pure in the condition and these few facts: many rules (500 in the
# bench) share conditions and a burst shares facts, so the checks are kept (frozen structs hash
# by content).
@lru_cache(maxsize=4096)
def _checked(condition: Condition, facts: _Facts) -> tuple[tuple[str, ...], bool]:
    trail = Trail()
    mine, event_type, the_id, the_name, urgency = facts
    results = [
        _events(trail, condition, mine, event_type),
        _priorities(trail, condition, the_id, the_name),
        _urgency(trail, condition, urgency),
    ]
    return trail.steps, all(results)


def _events(trail: Trail, condition: Condition, mine: tuple[str, ...], event_type: str) -> bool:
    wanted = listing(condition.pd_events)
    hit = next((e for e in mine if e in condition.pd_events), None)
    shown_as = " / ".join(mine) or event_type
    return trail.check(
        hit is not None, f"event {hit} in {wanted}", f"event {shown_as} not in {wanted}"
    )


def _priorities(
    trail: Trail, condition: Condition, the_id: str | None, the_name: str | None
) -> bool:
    if not condition.pd_priorities:
        return trail.check(True, "pd_priorities empty (any priority)")
    wanted = listing(shown(p.id, p.label, p.summary) for p in condition.pd_priorities)
    if the_id is None and the_name is None:
        return trail.check(False, f"incident has no priority; pd_priorities {wanted}")
    hit = any(
        matches(p.id, (p.summary, p.label), the_id, (the_name,)) for p in condition.pd_priorities
    )
    name = shown(the_id, the_name)
    return trail.check(hit, f"priority {name} in {wanted}", f"priority {name} not in {wanted}")


def _urgency(trail: Trail, condition: Condition, have: str | None) -> bool:
    wanted = condition.pd_urgency
    if wanted is None:
        return trail.check(True, "pd_urgency not set (any urgency)")
    have_text = have or "unknown"
    ok = have_text == wanted
    return trail.check(ok, f"urgency {have_text} == {wanted}", f"urgency {have_text} != {wanted}")


def creates_issue_for(stored: StoredRule, event: IncidentEvent) -> bool:
    """Whether ``stored`` creates issues for incidents like this one: autocreate_issues is on
    and an item's priorities and urgency fit the incident (its event may be a later one, so
    pd_events is not compared). Then an event that arrives before the link (an acknowledge
    right after the trigger) still acts: the writer waits for the issue (design, per-entity
    order: a command whose prerequisite is not there yet waits)."""
    config = stored.wrapped.rule.config
    if not config.autocreate_issues:
        return False
    the_id, the_name = priority_of(event)
    urgency = event.facts.urgency if event.facts is not None else None
    for item in config.autocreate_issues_config:
        scratch = Trail()
        if _priorities(scratch, item.condition, the_id, the_name) and _urgency(
            scratch, item.condition, urgency
        ):
            return True
    return False
