"""autocreate_issues: an unlinked incident whose event meets an item's condition gets ONE Jira
issue (the first matching item across all rules), shaped by the item's jira actions and the
wrapper's field templates and priority map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pdjira_common.contracts import Command, CreateIssue, IncidentEvent

from pdjira_rules.engine.attrs import incident_attrs
from pdjira_rules.engine.conditions import check_condition
from pdjira_rules.engine.context import Context, Outcome, Subject
from pdjira_rules.engine.incident_facts import assignee_ids, priority_of, service_of
from pdjira_rules.engine.jira_actions import ASSIGNEE_KEY, JiraChanges, jira_changes
from pdjira_rules.engine.oneline import one_line
from pdjira_rules.engine.priority_maps import jira_priority_for
from pdjira_rules.engine.refs import shown
from pdjira_rules.engine.sections import run_section
from pdjira_rules.engine.trail import Skip, Trail
from pdjira_rules.rule_model import AutocreateIssueItem, PdjiraRule, StoredRule
from pdjira_rules.templates import (
    Template,
    render,
    render_description,
    render_labels,
    template_keys,
)

__all__ = [
    "ACTION",
    "JIRA_SUMMARY_MAX",
    "autocreate_issues",
    "create_command_id",
    "default_description",
]

ACTION: Final = "create_issue"
JIRA_SUMMARY_MAX: Final = 255  # Jira refuses longer summaries
LABELS: Final = ("pagerduty",)
# field_templates with a place of their own in CreateIssue (the rest go to `fields`).
_NAMED: Final = frozenset({"summary", "description", "labels", "priority", "assignee"})


def create_command_id(account: str, incident_id: str) -> str:
    """Keyed by the incident, not the event or rule: every create for one incident is the same
    command (JetStream drops the repeat; jira-writer finds an issue already made)."""
    return f"create:{account}:{incident_id}"


def autocreate_issues(ctx: Context[IncidentEvent], stored: StoredRule) -> list[Outcome]:
    def consider(
        subject: Subject, item: AutocreateIssueItem, trail: Trail
    ) -> tuple[tuple[Command, ...], str]:
        return _consider(ctx, subject, item, trail)

    config = stored.wrapped.rule.config
    return run_section(stored, "autocreate_issues", config.autocreate_issues_config, consider)


def _consider(
    ctx: Context[IncidentEvent], subject: Subject, item: AutocreateIssueItem, trail: Trail
) -> tuple[tuple[Command, ...], str]:
    event, link = ctx.event, ctx.link
    if not check_condition(trail, item.condition, event):
        raise Skip(trail.text)
    if link is not None:
        trail.fail(f"incident already linked to {link.issue.key}; not creating another issue")
    trail.note("incident not linked: yes")
    owner = ctx.owner(ACTION)
    if owner is not None:
        trail.fail(f"{owner} already creates the issue (one issue per incident)")
    command_id = create_command_id(event.account, event.incident_id)
    command, notes = _create(event, subject.stored.wrapped, item, command_id)
    ctx.claim(ACTION, subject.who)
    what = f"create {command.issue_type} in {command.instance}/{command.project}"
    return (command,), "; ".join([what, *notes])


def _create(
    event: IncidentEvent, wrapped: PdjiraRule, item: AutocreateIssueItem, command_id: str
) -> tuple[CreateIssue, list[str]]:
    attrs = incident_attrs(event)
    assignees = assignee_ids(event)
    changes = jira_changes(item, attrs, assignees)
    fields = dict(changes.fields)
    templates = wrapped.field_templates
    # A generic jira_field_set_summary / _description fills the named CreateIssue fields.
    summary_text = fields.pop("summary", None) or _rendered(templates, "summary", attrs)
    description_field = fields.pop("description", None)
    description = (
        changes.description
        or description_field
        or _described(templates, attrs)
        or default_description(event)
    )
    labels = changes.labels
    if labels is None and "labels" in templates:
        labels = tuple(render_labels(templates["labels"], attrs))
    assignee = changes.assignee_pd_user_id
    assignee_template = templates.get("assignee")
    if assignee is None and assignee_template is not None and assignees:
        assignee = assignees[0] if ASSIGNEE_KEY in template_keys(assignee_template) else None
    for field_id, template in templates.items():
        if field_id not in _NAMED and field_id not in fields:
            fields[field_id] = render(template, attrs)
    config = wrapped.rule.config
    project = item.target_project or config.projects[0]
    issue_type = item.target_issue_type or config.issue_types[0]
    command = CreateIssue(
        command_id=command_id,
        correlation_id=event.correlation_id,
        incident=event.incident,
        instance=wrapped.instance,
        project=shown(project.id, project.key, project.label),
        issue_type=shown(issue_type.id, issue_type.label),
        summary=one_line(summary_text or event.title, JIRA_SUMMARY_MAX) or _numbered(event),
        description=description,
        labels=labels or LABELS,
        priority=_priority(event, wrapped, changes, attrs),
        assignee_pd_user_id=assignee,
        fields=fields,
    )
    notes = [n for n in changes.notes if n.endswith("not applied")]
    applied = [
        n
        for n in changes.notes
        if not n.endswith("not applied") and not n.startswith("jira_change_status")
    ]
    if changes.status is not None:
        notes.append(f"jira_change_status {changes.status}: a new issue keeps its first status")
    if applied:
        notes.append(f"actions: {', '.join(applied)}")
    return command, notes


def _priority(
    event: IncidentEvent, wrapped: PdjiraRule, changes: JiraChanges, attrs: Mapping[str, object]
) -> str | None:
    if changes.priority:
        return changes.priority
    _, name = priority_of(event)
    mapped = jira_priority_for(wrapped, name)
    if mapped:
        return mapped
    return _rendered(wrapped.field_templates, "priority", attrs) or None


def _rendered(templates: Mapping[str, Template], field_id: str, attrs: Mapping[str, object]) -> str:
    template = templates.get(field_id)
    return render(template, attrs) if template is not None else ""


def _described(templates: Mapping[str, Template], attrs: Mapping[str, object]) -> str:
    template = templates.get("description")
    return render_description(template, attrs) if template is not None else ""


def _numbered(event: IncidentEvent) -> str:
    """What a Jira summary says for an incident without a title."""
    return f"PagerDuty incident #{event.facts.number if event.facts else None}"


def default_description(event: IncidentEvent) -> str:
    """What the incident is, line by line, with a link back to it."""
    service_id, service_name = service_of(event)
    urgency = event.facts.urgency if event.facts is not None else None
    lines = [
        f"{_numbered(event)}: {event.title}",
        f"Service: {service_name or service_id or 'unknown'} ({service_id})",
        f"Urgency: {urgency or 'unknown'}",
    ]
    _, priority = priority_of(event)
    if priority:
        lines.append(f"Priority: {priority}")
    lines.append(f"Incident: {event.html_url}")
    return "\n".join(lines)
