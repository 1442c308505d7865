"""Priority-only sync (beyond PagerDuty's app; wrapper ``sync_priority`` with a priority_map):
a new incident priority sets the linked issue's (priority_map), a new issue priority sets the
linked incident's (the map inverted; urgency from urgency_map). Echoes are not reflected."""

from __future__ import annotations

from typing import Final

from pdjira_common.contracts import (
    Command,
    IncidentEvent,
    IssueEvent,
    UpdateIncidentFields,
    UpdateIssueFields,
)

from pdjira_rules.engine.context import Context, Outcome, Subject
from pdjira_rules.engine.incident_facts import priority_of
from pdjira_rules.engine.issue_facts import caused_at, jira_priority
from pdjira_rules.engine.priority_maps import jira_priority_for, pd_priority_for, urgency_for
from pdjira_rules.engine.refs import listing
from pdjira_rules.engine.sections import run_item
from pdjira_rules.engine.trail import Trail
from pdjira_rules.rule_model import PdjiraRule, StoredRule

__all__ = ["ITEM", "sync_incident_priority", "sync_issue_priority"]

ITEM: Final = "priority_sync"


def sync_incident_priority(ctx: Context[IncidentEvent], stored: StoredRule) -> list[Outcome]:
    return [run_item(Subject(stored=stored, item=ITEM), lambda s, t: _to_jira(ctx, s, t))]


def sync_issue_priority(ctx: Context[IssueEvent], stored: StoredRule) -> list[Outcome]:
    return [run_item(Subject(stored=stored, item=ITEM), lambda s, t: _to_pd(ctx, s, t))]


def _configured(wrapped: PdjiraRule, trail: Trail) -> None:
    trail.gate(wrapped.sync_priority, "sync_priority is on", "sync_priority is off")
    trail.gate(bool(wrapped.priority_map), "priority_map set", "priority_map is empty")


def _once(ctx: Context[IncidentEvent] | Context[IssueEvent], trail: Trail) -> None:
    owner = ctx.owner(ITEM)
    if owner is not None:
        trail.fail(f"{owner} already syncs the priority")


def _to_jira(
    ctx: Context[IncidentEvent], subject: Subject, trail: Trail
) -> tuple[tuple[Command, ...], str]:
    event, link, wrapped = ctx.event, ctx.link, subject.stored.wrapped
    _configured(wrapped, trail)
    if "priority" in ctx.echoes:
        trail.echo("pdjira set the incident's priority")
    if link is None:
        trail.fail(f"incident {event.incident_id} is not linked to an issue")
    trail.gate(
        link.issue.instance == wrapped.instance,
        f"incident linked to {link.issue.key}",
        f"incident is linked to {link.issue.key} on instance {link.issue.instance!r}, "
        f"not the rule's instance {wrapped.instance!r}",
    )
    _, name = priority_of(event)
    if name is None:
        trail.fail("incident has no priority (removed); nothing to map")
    mapped = jira_priority_for(wrapped, name)
    if mapped is None:
        trail.fail(f"priority {name} not in priority_map; mapped: {listing(wrapped.priority_map)}")
    trail.note(f"priority {name} maps to {mapped}: yes")
    _once(ctx, trail)
    command = UpdateIssueFields(
        command_id=f"{event.event_id}:{subject.stored.id}:{ITEM}",
        correlation_id=event.correlation_id,
        incident=event.incident,
        instance=wrapped.instance,
        priority=mapped,
        caused_at=event.occurred_at or None,
    )
    ctx.claim(ITEM, subject.who)
    return (command,), f"set priority of {link.issue.key} to {mapped}"


def _to_pd(
    ctx: Context[IssueEvent], subject: Subject, trail: Trail
) -> tuple[tuple[Command, ...], str]:
    event, link, wrapped = ctx.event, ctx.link, subject.stored.wrapped
    _configured(wrapped, trail)
    change = event.changed("priority")
    if change is None:
        trail.fail("no priority change in this event")
    if "priority" in ctx.echoes:
        trail.echo(f"pdjira set the priority of {event.key}")
    if link is None:
        trail.fail(f"issue {event.key} is not linked to an incident")
    incident = link.incident
    trail.gate(
        incident.account == wrapped.account,
        f"issue linked to incident {incident.incident_id}",
        f"issue is linked to an incident of account {incident.account!r}, not the rule's "
        f"account {wrapped.account!r}",
    )
    name = jira_priority(event, change)
    if name is None:
        trail.fail("issue has no priority (removed); nothing to map")
    pd_name = pd_priority_for(wrapped, name)
    urgency = urgency_for(wrapped, name)
    if pd_name is None and urgency is None:
        mapped = listing(dict.fromkeys(wrapped.priority_map.values()))
        trail.fail(f"Jira priority {name} not in priority_map values; mapped: {mapped}")
    trail.note(f"Jira priority {name} maps to {pd_name or '-'} (urgency {urgency or '-'}): yes")
    _once(ctx, trail)
    command = UpdateIncidentFields(
        command_id=f"{event.event_id}:{subject.stored.id}:{ITEM}",
        correlation_id=event.correlation_id,
        incident=incident,
        priority=pd_name,
        urgency=urgency,
        cause=event.issue,
        actor_user_key=event.user_key,
        caused_at=caused_at(event),
    )
    ctx.claim(ITEM, subject.who)
    what = f"set incident {incident.incident_id} priority {pd_name or '(unchanged)'}"
    return (command,), what + (f", urgency {urgency}" if urgency else "")
