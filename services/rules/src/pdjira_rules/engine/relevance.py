"""Which sections of a rule an event concerns: an incident event meets autocreate_issues and
react_on_incident_event (if it is a rule event), priority_sync (incident.priority_updated) or
sync_comments (a note); an issue event meets autocreate_incidents (created/updated),
react_on_issue_status_change (a status change), priority_sync (a priority change) and
sync_comments (a comment).

One table per event kind says, for each section, whether the event concerns it, whether a
rule has it switched on, and how it runs: the decision runs what concerns the event, and the
handler asks mapping for the link only when a rule in scope has such a section on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from pdjira_common.contracts import Event, IncidentEvent, IssueEvent

from pdjira_rules.engine.comments import sync_comment, sync_note
from pdjira_rules.engine.context import Context, Outcome
from pdjira_rules.engine.create_incident import autocreate_incidents
from pdjira_rules.engine.create_issue import autocreate_issues
from pdjira_rules.engine.incident_facts import PRIORITY_UPDATED, rule_events
from pdjira_rules.engine.issue_facts import CREATED, UPDATED
from pdjira_rules.engine.priority_sync import sync_incident_priority, sync_issue_priority
from pdjira_rules.engine.react_incident import react_on_incident_event
from pdjira_rules.engine.react_status import react_on_issue_status_change
from pdjira_rules.engine.scope import out_of_scope
from pdjira_rules.rule_model import StoredRule

__all__ = ["Section", "incident_sections", "issue_sections", "needs_link"]

E = TypeVar("E", IncidentEvent, IssueEvent)
Section = Callable[[StoredRule], list[Outcome]]


@dataclass(frozen=True)
class _Kind(Generic[E]):
    concerns: Callable[[E], bool]  # the event is one this section acts on
    on: Callable[[StoredRule], bool]  # the rule has the section switched on
    run: Callable[[Context[E], StoredRule], list[Outcome]]


def _priority_sync_on(stored: StoredRule) -> bool:
    return stored.wrapped.sync_priority and bool(stored.wrapped.priority_map)


_INCIDENT: tuple[_Kind[IncidentEvent], ...] = (
    _Kind(
        lambda e: bool(rule_events(e)),
        lambda r: r.wrapped.rule.config.autocreate_issues,
        autocreate_issues,
    ),
    _Kind(
        lambda e: bool(rule_events(e)),
        lambda r: r.wrapped.rule.config.react_on_incident_event,
        react_on_incident_event,
    ),
    _Kind(lambda e: e.event_type == PRIORITY_UPDATED, _priority_sync_on, sync_incident_priority),
    _Kind(lambda e: e.is_note, lambda r: r.wrapped.rule.config.sync_comments, sync_note),
)
_ISSUE: tuple[_Kind[IssueEvent], ...] = (
    _Kind(
        lambda e: e.webhook_event in (CREATED, UPDATED),
        lambda r: r.wrapped.rule.config.autocreate_incidents,
        autocreate_incidents,
    ),
    _Kind(
        lambda e: e.changed("status") is not None,
        lambda r: r.wrapped.rule.config.react_on_issue_status_change,
        react_on_issue_status_change,
    ),
    _Kind(lambda e: e.changed("priority") is not None, _priority_sync_on, sync_issue_priority),
    _Kind(lambda e: e.is_comment, lambda r: r.wrapped.rule.config.sync_comments, sync_comment),
)


def incident_sections(ctx: Context[IncidentEvent]) -> list[Section]:
    return [partial(k.run, ctx) for k in _INCIDENT if k.concerns(ctx.event)]


def issue_sections(ctx: Context[IssueEvent]) -> list[Section]:
    return [partial(k.run, ctx) for k in _ISSUE if k.concerns(ctx.event)]


def needs_link(event: Event, rules: Sequence[StoredRule]) -> bool:
    """Whether any rule could get as far as asking about the incident<->issue link: one in
    scope with a section switched on that the event concerns (saves a lookup otherwise)."""
    if isinstance(event, IncidentEvent):
        found = [k.on for k in _INCIDENT if k.concerns(event)]
    else:
        found = [k.on for k in _ISSUE if k.concerns(event)]
    return any(
        out_of_scope(stored, event) is None and any(on(stored) for on in found) for stored in rules
    )
