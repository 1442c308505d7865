"""react_on_issue_status_change: a LINKED issue moving to one of an item's statuses
acknowledges / resolves its incident (pd_acknowledge / pd_resolve -> UpdateIncident; the first
item across rules wins) and sets its priority / adds responders (-> UpdateIncidentFields)."""

from __future__ import annotations

from typing import Final

from pdjira_common.contracts import Command, IssueEvent, UpdateIncident, UpdateIncidentFields

from pdjira_rules.engine.context import Context, Outcome, Subject
from pdjira_rules.engine.issue_facts import caused_at
from pdjira_rules.engine.pd_actions import pd_changes
from pdjira_rules.engine.refs import listing, matches, shown
from pdjira_rules.engine.sections import run_section
from pdjira_rules.engine.trail import Trail
from pdjira_rules.rule_model import ReactOnIssueStatusChangeItem, StoredRule

__all__ = ["INCIDENT_STATUS", "react_on_issue_status_change"]

INCIDENT_STATUS: Final = "incident_status"


def react_on_issue_status_change(ctx: Context[IssueEvent], stored: StoredRule) -> list[Outcome]:
    def consider(
        subject: Subject, item: ReactOnIssueStatusChangeItem, trail: Trail
    ) -> tuple[tuple[Command, ...], str]:
        return _consider(ctx, subject, item, trail)

    config = stored.wrapped.rule.config
    return run_section(
        stored,
        "react_on_issue_status_change",
        config.react_on_issue_status_change_config,
        consider,
    )


def _consider(
    ctx: Context[IssueEvent], subject: Subject, item: ReactOnIssueStatusChangeItem, trail: Trail
) -> tuple[tuple[Command, ...], str]:
    event, link, wrapped = ctx.event, ctx.link, subject.stored.wrapped
    change = event.changed("status")
    if change is None:
        trail.fail("no status change in this event")
    status_name = change.to_string or event.status
    wanted = listing(shown(s.id, s.label) for s in item.jira_statuses)
    hit = any(
        matches(s.id, (s.label,), change.to_value, (status_name,)) for s in item.jira_statuses
    )
    trail.require(hit, f"status {status_name} in {wanted}", f"status {status_name} not in {wanted}")
    if "status" in ctx.echoes:
        trail.echo(f"pdjira moved {event.key} to {status_name!r}")
    if link is None:
        trail.fail(f"issue {event.key} is not linked to an incident")
    incident = link.incident
    trail.gate(
        incident.account == wrapped.account,
        f"issue linked to incident {incident.incident_id}",
        f"issue is linked to an incident of account {incident.account!r}, not the rule's "
        f"account {wrapped.account!r}",
    )
    changes = pd_changes(item)
    base = f"{event.event_id}:{subject.stored.id}:{subject.item}"
    when = caused_at(event)
    commands: list[Command] = []
    done: list[str] = []
    if changes.status is not None:
        owner = ctx.owner(INCIDENT_STATUS)
        if owner is not None:
            done.append(f"{owner} already changes the status of incident {incident.incident_id}")
        else:
            commands.append(
                UpdateIncident(
                    command_id=f"{base}:status",
                    correlation_id=event.correlation_id,
                    incident=incident,
                    status=changes.status,
                    cause=event.issue,
                    actor_user_key=event.user_key,
                    caused_at=when,
                )
            )
            ctx.claim(INCIDENT_STATUS, subject.who)
            done.append(f"set incident {incident.incident_id} {changes.status}")
    if changes.sets_fields:
        commands.append(
            UpdateIncidentFields(
                command_id=f"{base}:fields",
                correlation_id=event.correlation_id,
                incident=incident,
                priority=changes.priority,
                add_responders=changes.add_responders,
                cause=event.issue,
                actor_user_key=event.user_key,
                caused_at=when,
            )
        )
        done.append(f"update fields of incident {incident.incident_id}")
    unapplied = [n for n in changes.notes if n.endswith("not applied")]
    done.extend(unapplied)
    if not commands:
        trail.fail("; ".join(done) or "no PagerDuty action to apply")
    applied = [n for n in changes.notes if not n.endswith("not applied")]
    if applied:
        done.append(f"actions: {', '.join(applied)}")
    return tuple(commands), "; ".join(done)
