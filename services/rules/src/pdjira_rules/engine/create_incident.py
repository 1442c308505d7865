"""autocreate_incidents: a new (on_create) or updated (on_update) UNLINKED issue matching an
item's JQL gets ONE PagerDuty incident (the first matching item across rules). An issue never
gets a second incident: once linked, it is out of this section for good."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pdjira_common.contracts import Command, CreateIncident, IncidentStatus, IssueEvent

from pdjira_rules.engine.context import Context, Outcome, Subject
from pdjira_rules.engine.issue_facts import (
    CREATED,
    UPDATED,
    caused_at,
    description_of,
    jira_priority,
)
from pdjira_rules.engine.jql_match import match_jql
from pdjira_rules.engine.oneline import one_line
from pdjira_rules.engine.pd_actions import pd_changes
from pdjira_rules.engine.priority_maps import pd_priority_for, urgency_for
from pdjira_rules.engine.refs import matches
from pdjira_rules.engine.sections import run_section
from pdjira_rules.engine.trail import Skip, Trail
from pdjira_rules.jql import UNKNOWN
from pdjira_rules.rule_model import AutocreateIncidentItem, PdjiraRule, StoredRule

__all__ = [
    "ACTION",
    "PD_TITLE_MAX",
    "autocreate_incidents",
    "incident_command_id",
    "open_jql",
    "status_for_current",
]

ACTION: Final = "create_incident"
# PagerDuty's REST spec sets no title limit; its Events API caps a summary at 1024: keep to it.
PD_TITLE_MAX: Final = 1024
_WEBHOOKS: Final = {CREATED: "on_create", UPDATED: "on_update"}


def incident_command_id(event: IssueEvent) -> str:
    """Keyed by the issue: a re-match after an update is the same command (deduplicated)."""
    return f"incident-for:{event.instance}:{event.issue_id}"


def autocreate_incidents(ctx: Context[IssueEvent], stored: StoredRule) -> list[Outcome]:
    def consider(
        subject: Subject, item: AutocreateIncidentItem, trail: Trail
    ) -> tuple[tuple[Command, ...], str]:
        return _consider(ctx, subject, item, trail)

    config = stored.wrapped.rule.config
    return run_section(stored, "autocreate_incidents", config.autocreate_incidents_config, consider)


def _fits(item: AutocreateIncidentItem, trail: Trail, webhook: str, link_text: str | None) -> None:
    """The checks before the JQL: webhook kind and no link."""
    setting = _WEBHOOKS.get(webhook)
    if setting is None:
        trail.fail(f"{webhook} neither creates nor updates an issue")
    on = bool(getattr(item, setting))
    trail.require(on, f"{setting} is on for {webhook}", f"{setting} is off for {webhook}")
    if link_text is not None:
        trail.fail(link_text)
    trail.note("issue not linked: yes")


def _link_text(ctx: Context[IssueEvent]) -> str | None:
    if ctx.link is None:
        return None
    return (
        f"issue already linked to incident {ctx.link.incident.incident_id}; "
        "an issue never gets a second incident"
    )


def open_jql(ctx: Context[IssueEvent], stored: StoredRule) -> tuple[list[str], bool]:
    """The JQL of this rule's items that could fire and are UNKNOWN locally, up to the first
    item that matches locally; and whether one did (later rules then need no answers)."""
    config = stored.wrapped.rule.config
    if not config.autocreate_incidents:
        return [], False
    asks: list[str] = []
    for item in config.autocreate_incidents_config:
        try:
            _fits(item, Trail(), ctx.event.webhook_event, _link_text(ctx))
        except Skip:  # this item cannot fire
            continue
        truth = ctx.jql().truth(item.jql)
        if truth is True:
            return asks, True
        if truth is UNKNOWN:
            asks.append(item.jql)
    return asks, False


def _consider(
    ctx: Context[IssueEvent], subject: Subject, item: AutocreateIncidentItem, trail: Trail
) -> tuple[tuple[Command, ...], str]:
    event, wrapped = ctx.event, subject.stored.wrapped
    _fits(item, trail, event.webhook_event, _link_text(ctx))
    owner = ctx.owner(ACTION)
    if owner is not None:
        trail.fail(f"{owner} already creates the incident (one incident per issue)")
    result = match_jql(item.jql, event, ctx.jira_answers, ctx.jql())
    if result.matched is None:
        trail.fail(result.text)
    trail.require(result.matched, result.text)
    command_id = incident_command_id(event)
    service = item.target_service or wrapped.rule.config.services[0]
    # A rule in the file may name the service; pd-writer resolves the name to its id.
    service_ref = service.id or service.summary or service.label
    if not service_ref:
        trail.fail("the target service has neither an id nor a name")
    changes = pd_changes(item)
    jira_name = jira_priority(event)
    priority = changes.priority
    notes = list(changes.notes)
    if priority is None and wrapped.sync_priority:
        priority = pd_priority_for(wrapped, jira_name)
        if priority is not None:
            notes.append(f"priority {priority} from priority_map ({jira_name})")
    if changes.status is not None:
        notes.append(f"{changes.status}: the new incident is triggered, not applied")
    urgency = urgency_for(wrapped, jira_name)
    then_status = status_for_current(wrapped, event)
    if then_status is not None:
        notes.append(f"then {then_status}: the issue is already {event.status!r}")
    command = CreateIncident(
        command_id=command_id,
        correlation_id=event.correlation_id,
        account=wrapped.account,
        service_id=service_ref,
        title=one_line(f"{event.key}: {event.summary}", PD_TITLE_MAX),
        body=description_of(event) or f"Jira issue {event.key}: {event.summary}",
        issue=event.issue,
        urgency=urgency,
        priority=priority,
        add_responders=changes.add_responders,
        then_status=then_status,
        caused_at=caused_at(event),
    )
    ctx.claim(ACTION, subject.who)
    jira_only = _jira_actions(item)
    if jira_only:
        notes.append(f"{', '.join(jira_only)}: Jira actions of this section are not applied")
    name = service.summary or service.label
    where = f"{name} ({service.id})" if name and service.id else service_ref
    return (command,), "; ".join([f"create an incident on service {where}", *notes])


def status_for_current(wrapped: PdjiraRule, event: IssueEvent) -> IncidentStatus | None:
    """The status the rule's react_on_issue_status_change gives an incident whose issue moves
    to the issue's *current* status (first item wins, as there): an issue created already
    Done, or first seen in Done, gets a resolved incident. Reopening is left out: a new
    incident is triggered anyway."""
    config = wrapped.rule.config
    if not config.react_on_issue_status_change:
        return None
    current = event.fields.status
    for item in config.react_on_issue_status_change_config:
        named = any(
            matches(s.id, (s.label,), current.id, (current.name,)) for s in item.jira_statuses
        )
        status = pd_changes(item).status if named else None
        if status is not None:
            return status if status in ("acknowledged", "resolved") else None
    return None


def _jira_actions(item: AutocreateIncidentItem) -> list[str]:
    keys: Mapping[str, object] = {a.key: a for a in item.actions if not a.is_disabled}
    return [k for k in keys if k.startswith("jira_")]
