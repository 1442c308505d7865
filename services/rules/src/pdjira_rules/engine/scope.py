"""Whether a rule applies to an event at all: enabled; for PagerDuty, its account and one of its
services (or all of them: ``all_services``); for Jira, its instance, one of its projects and
issue types (or any type: ``all_issue_types``). A rule out of scope gets one verdict (item
None) saying why."""

from __future__ import annotations

from functools import lru_cache

from pdjira_common.contracts import Event, IncidentEvent, IssueEvent

from pdjira_rules.engine.incident_facts import service_of
from pdjira_rules.engine.issue_facts import issue_type_of, project_of
from pdjira_rules.engine.refs import listing, matches, shown
from pdjira_rules.rule_model import IssueType, Project, ServiceReference, StoredRule

__all__ = ["out_of_scope"]


def out_of_scope(stored: StoredRule, event: Event) -> str | None:
    """Why ``stored`` does not apply to ``event`` (None: it does)."""
    wrapped = stored.wrapped
    if not wrapped.rule.enabled:
        return "rule disabled"
    if isinstance(event, IncidentEvent):
        return _incident(stored, event)
    return _issue(stored, event)


def _incident(stored: StoredRule, event: IncidentEvent) -> str | None:
    wrapped = stored.wrapped
    if event.account != wrapped.account:
        return f"account {event.account!r} is not the rule's account {wrapped.account!r}"
    if wrapped.all_services:
        return None
    services = wrapped.rule.config.services
    the_id, the_name = service_of(event)
    if the_id is None and the_name is None:
        # A note event carries only an incident reference: its link decides instead.
        return None if event.is_note else "the event names no service"
    return _services(services, the_id, the_name)


# Scope answers are pure functions of a rule's references and the event's: many rules (500 in
# the bench) name the same services / projects / types, and a burst names few of them, so
# they are kept (frozen structs hash by content).
_KEPT = 4096


@lru_cache(maxsize=_KEPT)
def _services(
    services: tuple[ServiceReference, ...], the_id: str | None, the_name: str | None
) -> str | None:
    if any(matches(s.id, (s.summary, s.label), the_id, (the_name,)) for s in services):
        return None
    wanted = listing(shown(s.id, s.label, s.summary) for s in services)
    return f"service {shown(the_id, the_name)} ({the_id}) not in rule services {wanted}"


def _issue(stored: StoredRule, event: IssueEvent) -> str | None:
    wrapped = stored.wrapped
    config = wrapped.rule.config
    if event.instance != wrapped.instance:
        return f"instance {event.instance!r} is not the rule's instance {wrapped.instance!r}"
    key, project_id, project_name = project_of(event)
    problem = _projects(config.projects, key, project_id, project_name)
    if problem is not None or wrapped.all_issue_types:
        return problem
    type_name, type_id = issue_type_of(event)
    return _issue_types(config.issue_types, type_name, type_id)


@lru_cache(maxsize=_KEPT)
def _projects(
    projects: tuple[Project, ...], key: str | None, project_id: str | None, name: str | None
) -> str | None:
    if any(matches(p.id, (p.key, p.label), project_id, (key, name)) for p in projects):
        return None
    wanted = listing(shown(p.id, p.key, p.label) for p in projects)
    return f"project {key} not in rule projects {wanted}"


@lru_cache(maxsize=_KEPT)
def _issue_types(
    issue_types: tuple[IssueType, ...], type_name: str | None, type_id: str | None
) -> str | None:
    if any(matches(t.id, (t.label,), type_id, (type_name,)) for t in issue_types):
        return None
    wanted = listing(shown(t.id, t.label) for t in issue_types)
    return f"issue type {type_name or type_id} not in rule issue types {wanted}"
