"""react_on_incident_event: an event on a LINKED incident (or one the rule creates an issue for,
not linked yet: the writer waits) that meets an item's condition moves
its issue (jira_change_status -> TransitionIssue; the first item across rules wins) and sets
its fields (the other jira actions -> one UpdateIssueFields per item). Echoes of our own status
or priority writes are not reflected back. A transition carries the wrapper's resolution when
the event is one of its ``resolution_events`` (or that list is empty)."""

from __future__ import annotations

from typing import Final

from pdjira_common.contracts import Command, IncidentEvent, TransitionIssue, UpdateIssueFields

from pdjira_rules.engine.attrs import incident_attrs
from pdjira_rules.engine.conditions import check_condition, creates_issue_for
from pdjira_rules.engine.context import Context, Outcome, Subject
from pdjira_rules.engine.decision import ECHO
from pdjira_rules.engine.incident_facts import REOPENED, RULE_EVENTS, assignee_ids
from pdjira_rules.engine.issue_facts import project_key_of_issue
from pdjira_rules.engine.jira_actions import jira_changes
from pdjira_rules.engine.sections import run_section
from pdjira_rules.engine.trail import Skip, Trail
from pdjira_rules.rule_model import PdjiraRule, ReactOnIncidentEventItem, StoredRule

__all__ = ["TRANSITION", "react_on_incident_event"]

TRANSITION: Final = "transition_issue"


def react_on_incident_event(ctx: Context[IncidentEvent], stored: StoredRule) -> list[Outcome]:
    def consider(
        subject: Subject, item: ReactOnIncidentEventItem, trail: Trail
    ) -> tuple[tuple[Command, ...], str]:
        return _consider(ctx, subject, item, trail)

    config = stored.wrapped.rule.config
    return run_section(
        stored, "react_on_incident_event", config.react_on_incident_event_config, consider
    )


def _consider(
    ctx: Context[IncidentEvent], subject: Subject, item: ReactOnIncidentEventItem, trail: Trail
) -> tuple[tuple[Command, ...], str]:
    event, link, wrapped = ctx.event, ctx.link, subject.stored.wrapped
    if not check_condition(trail, item.condition, event):
        raise Skip(trail.text)
    if link is None:
        if not creates_issue_for(subject.stored, event):
            trail.fail("incident not linked (and this rule does not create issues)")
        key = "its issue once created"
        trail.note(
            "incident not linked yet, but this rule creates issues for incidents like it: "
            "the writer waits for the link"
        )
    else:
        key = link.issue.key
        trail.note(f"incident linked to {key}: yes")
        trail.gate(
            link.issue.instance == wrapped.instance,
            f"issue on the rule's instance {wrapped.instance!r}",
            f"issue {key} is on instance {link.issue.instance!r}, not the rule's "
            f"instance {wrapped.instance!r}",
        )
    target = item.target_project
    if link is not None and target is not None and (target.key or target.label):
        project = project_key_of_issue(key)
        wanted = {(target.key or "").casefold(), (target.label or "").casefold()}
        trail.require(
            project.casefold() in wanted,
            f"issue project {project} is target_project {target.key or target.label}",
            f"issue project {project} is not target_project {target.key or target.label}",
        )
    changes = jira_changes(item, incident_attrs(event), assignee_ids(event))
    commands: list[Command] = []
    done: list[str] = []
    echoed: dict[str, str] = {}  # field -> the action not applied
    base = f"{event.event_id}:{subject.stored.id}:{subject.item}"
    if changes.status is not None:
        owner = ctx.owner(TRANSITION)
        if "status" in ctx.echoes:
            echoed["status"] = f"jira_change_status {changes.status}"
        elif owner is not None:
            done.append(f"jira_change_status: {owner} already changes the status of {key}")
        else:
            commands.append(
                TransitionIssue(
                    command_id=f"{base}:transition",
                    correlation_id=event.correlation_id,
                    incident=event.incident,
                    instance=wrapped.instance,
                    target_status=changes.status,
                    resolution=_resolution(wrapped, event),
                    caused_at=event.occurred_at or None,
                    # Only a reopened incident may take its issue out of Done.
                    reopen=event.event_type == REOPENED,
                )
            )
            ctx.claim(TRANSITION, subject.who)
            done.append(f"move {key} to {changes.status!r}")
    priority = changes.priority
    if priority and "priority" in ctx.echoes:
        echoed["priority"] = f"jira_field_set_priority {priority}"
        priority = None
    sets = changes.assignee_pd_user_id or changes.labels is not None or changes.description
    if priority or sets or changes.fields:
        commands.append(
            UpdateIssueFields(
                command_id=f"{base}:fields",
                correlation_id=event.correlation_id,
                incident=event.incident,
                instance=wrapped.instance,
                priority=priority,
                assignee_pd_user_id=changes.assignee_pd_user_id,
                labels=changes.labels,
                append_description=changes.description or None,
                fields=changes.fields,
                caused_at=event.occurred_at or None,
            )
        )
        done.append(f"update fields of {key}")
    unapplied = [n for n in changes.notes if n.endswith("not applied")]
    if not commands and echoed and not done:
        skipped = [f"{what} not applied" for what in echoed.values()]
        trail.echo("; ".join([f"pdjira set the incident's {' and '.join(echoed)}", *skipped]))
    done.extend(f"{what}: {ECHO}, not applied" for what in echoed.values())
    done.extend(unapplied)
    if not commands:
        trail.fail("; ".join(done) or "no Jira action to apply")
    applied = [n for n in changes.notes if not n.endswith("not applied")]
    if applied:
        done.append(f"actions: {', '.join(applied)}")
    return tuple(commands), "; ".join(done)


def _resolution(wrapped: PdjiraRule, event: IncidentEvent) -> str | None:
    wanted = wrapped.resolution_events
    if wanted and RULE_EVENTS.get(event.event_type) not in wanted:
        return None
    return wrapped.resolution
