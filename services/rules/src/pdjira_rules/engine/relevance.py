"""Which sections of a rule an event concerns: an incident event meets autocreate_issues and
react_on_incident_event (if it is a rule event), priority_sync (incident.priority_updated) or
sync_comments (a note); an issue event meets autocreate_incidents (created/updated),
react_on_issue_status_change (a status change), priority_sync (a priority change) and
sync_comments (a comment)."""

from __future__ import annotations

from collections.abc import Callable

from pdjira_common.contracts import IncidentEvent, IssueEvent

from pdjira_rules.decide import is_comment, is_note
from pdjira_rules.engine.comments import sync_comment, sync_note
from pdjira_rules.engine.context import Context, Outcome
from pdjira_rules.engine.create_incident import autocreate_incidents
from pdjira_rules.engine.create_issue import autocreate_issues
from pdjira_rules.engine.incident_facts import PRIORITY_UPDATED, rule_events
from pdjira_rules.engine.issue_facts import CREATED, UPDATED
from pdjira_rules.engine.priority_sync import sync_incident_priority, sync_issue_priority
from pdjira_rules.engine.react_incident import react_on_incident_event
from pdjira_rules.engine.react_status import react_on_issue_status_change
from pdjira_rules.rule_model import StoredRule

__all__ = ["Section", "incident_sections", "issue_sections"]

Section = Callable[[StoredRule], list[Outcome]]


def incident_sections(ctx: Context[IncidentEvent]) -> list[Section]:
    event = ctx.event
    found: list[Section] = []
    if rule_events(event):
        found.append(lambda stored: autocreate_issues(ctx, stored))
        found.append(lambda stored: react_on_incident_event(ctx, stored))
    if event.event_type == PRIORITY_UPDATED:
        found.append(lambda stored: sync_incident_priority(ctx, stored))
    if is_note(event):
        found.append(lambda stored: sync_note(ctx, stored))
    return found


def issue_sections(ctx: Context[IssueEvent]) -> list[Section]:
    event = ctx.event
    found: list[Section] = []
    if event.webhook_event in (CREATED, UPDATED):
        found.append(lambda stored: autocreate_incidents(ctx, stored))
    if event.changed("status") is not None:
        found.append(lambda stored: react_on_issue_status_change(ctx, stored))
    if event.changed("priority") is not None:
        found.append(lambda stored: sync_issue_priority(ctx, stored))
    if is_comment(event):
        found.append(lambda stored: sync_comment(ctx, stored))
    return found
