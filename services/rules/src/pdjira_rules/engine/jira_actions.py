"""The ``jira_*`` actions of an item (enabled ones only), rendered from the incident: what to
write to the Jira issue, and a note per action for the verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pdjira_rules.rule_model import (
    JiraPriority,
    JiraStatus,
    RuleItem,
    action_param,
    enabled_actions,
)
from pdjira_rules.templates import (
    Template,
    TemplateItem,
    render,
    render_description,
    render_labels,
    template_keys,
)

__all__ = ["ASSIGNEE_KEY", "FIELD_SET", "JiraChanges", "jira_changes"]

FIELD_SET: Final = "jira_field_set_"
ASSIGNEE_KEY: Final = "incident.assignee"
_STATUS: Final = "jira_change_status"
_PRIORITY: Final = "jira_field_set_priority"
_ASSIGNEE: Final = "jira_field_set_assignee"
_LABELS: Final = "jira_field_set_labels"
_DESCRIPTION: Final = "jira_append_description"


@dataclass(frozen=True, kw_only=True)
class JiraChanges:
    """What the jira actions set (None: not set); ``notes`` say what each action did."""

    status: str | None = None
    priority: str | None = None
    assignee_pd_user_id: str | None = None
    labels: tuple[str, ...] | None = None
    description: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def sets_fields(self) -> bool:
        return bool(
            self.priority
            or self.assignee_pd_user_id
            or self.labels is not None
            or self.description
            or self.fields
        )


def jira_changes(
    item: RuleItem, attrs: Mapping[str, object], assignees: Sequence[str]
) -> JiraChanges:
    """Render the item's enabled jira actions. Raises ValueError (a bad param or template;
    validation refuses both when a rule is loaded)."""
    values: dict[str, Any] = {"fields": {}}
    notes: list[str] = []
    for key in enabled_actions(item):
        if not key.startswith("jira_"):
            continue  # pd_* actions are the other side's
        if key not in item.actions_params:
            notes.append(f"{key}: no param, not applied")
            continue
        param = action_param(key, item.actions_params[key])
        notes.append(_apply(key, param, attrs, assignees, values))
    return JiraChanges(notes=tuple(notes), **values)


def _apply(
    key: str,
    param: object,
    attrs: Mapping[str, object],
    assignees: Sequence[str],
    values: dict[str, Any],
) -> str:
    if key == _STATUS and isinstance(param, JiraStatus):
        values["status"] = param.label or param.id
        return f"{key} {values['status']}"
    if key == _PRIORITY and isinstance(param, JiraPriority):
        values["priority"] = param.name or param.label or param.id
        return f"{key} {values['priority']}"
    template = _template(param)
    if template is None:
        return f"{key}: unknown param, not applied"
    if key == _ASSIGNEE:
        if ASSIGNEE_KEY not in template_keys(template):
            return f"{key}: only {ASSIGNEE_KEY} can be assigned, not applied"
        if not assignees:
            return f"{key}: incident has no assignee, not applied"
        values["assignee_pd_user_id"] = assignees[0]
        return f"{key} PagerDuty user {assignees[0]}"
    if key == _LABELS:
        values["labels"] = tuple(render_labels(template, attrs))
        return f"{key} [{', '.join(values['labels'])}]"
    if key == _DESCRIPTION:
        values["description"] = render_description(template, attrs)
        return key
    if key.startswith(FIELD_SET):
        field_id = key[len(FIELD_SET) :]
        values["fields"][field_id] = render(template, attrs)
        return f"{key} ({field_id})"
    return f"{key}: not a known Jira action, not applied"


def _template(param: object) -> Template | None:
    if isinstance(param, str | TemplateItem):
        return param
    if isinstance(param, list) and all(isinstance(p, TemplateItem) for p in param):
        return param
    return None
