"""Field templates: PagerDuty's action-param item lists and ``{{placeholder}}`` strings.

PagerDuty's Jira Server rules fill Jira fields from lists such as
``[{"key": "incident.title", "icon": "pd"}, {"key": "free text", "icon": "text"}]``: ``pd``
items are incident attributes, ``text`` items are literal. Our YAML may also write
``"{{incident.title}} ({{incident.html_url}})"``. Unknown placeholders are refused by
:func:`template_problems` when a rule is loaded, and by :func:`render` (never rendered empty).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Final, TypeAlias

import msgspec

__all__ = [
    "PLACEHOLDERS",
    "Template",
    "TemplateError",
    "TemplateItem",
    "render",
    "render_description",
    "render_labels",
    "template_keys",
    "template_problems",
]


class TemplateError(ValueError):
    """A template names a placeholder we do not know."""


class TemplateItem(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str | None = None
    icon: str | None = None  # "pd": incident attribute; "text": literal


Template: TypeAlias = str | TemplateItem | list[TemplateItem]

# PagerDuty's placeholder keys (the integration's own examples), plus the description.
PLACEHOLDERS: Final = frozenset(
    {
        "incident.title",
        "incident.description",
        "incident.incident_number",
        "incident.id",
        "log_entries.channel.details",
        "incident.status",
        "incident.created_at",
        "incident.service.summary",
        "incident.escalation_policy.summary",
        "incident.impacted_services.name",
        "incident.html_url",
        "incident.acknowledgements.acknowledger.name",
        "incident.urgency",
        "incident.assignee",
        "incident.priority.summary",
        "incident.last_status_change_by.summary",
        "incident.last_status_change_at",
    }
)
# Attributes whose data lives elsewhere in the REST incident than the key suggests.
_PATHS: Final = {"incident.assignee": ("incident", "assignments", "assignee")}
_PLACEHOLDER: Final = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def _items(template: Template) -> list[TemplateItem]:
    if isinstance(template, TemplateItem):
        return [template]
    if isinstance(template, list):
        return template
    return []


def _is_placeholder(item: TemplateItem) -> bool:
    if item.icon == "text":
        return False
    return item.icon == "pd" or item.key in PLACEHOLDERS


def template_keys(template: Template) -> tuple[str, ...]:
    """The placeholder keys a template refers to (known or not), in order, without repeats."""
    if isinstance(template, str):
        names = [m.group(1) for m in _PLACEHOLDER.finditer(template)]
    else:
        names = [item.key for item in _items(template) if _is_placeholder(item)]
    return tuple(dict.fromkeys(names))


def template_problems(template: Template) -> list[str]:
    """What is wrong with a template (empty: fine)."""
    known = ", ".join(sorted(PLACEHOLDERS))
    if isinstance(template, str):
        names = [m.group(1) for m in _PLACEHOLDER.finditer(template)]
    else:
        names = [item.key for item in _items(template) if _is_placeholder(item)]
    return [
        f"unknown placeholder '{name}'; placeholders: {known}"
        for name in names
        if name not in PLACEHOLDERS
    ]


def _check(template: Template) -> None:
    problems = template_problems(template)
    if problems:
        raise TemplateError("; ".join(problems))


def _lookup(attrs: Mapping[str, object], key: str) -> str:
    if key in attrs:  # a flat {"incident.title": ...} map is fine too
        return _text(attrs[key])
    nodes: list[object] = [attrs]
    for step in _PATHS.get(key, tuple(key.split("."))):
        nxt: list[object] = []
        for node in nodes:
            for one in node if isinstance(node, list) else [node]:
                if isinstance(one, Mapping):
                    # PagerDuty references carry `summary` where the key says `name`.
                    value = one.get(step, one.get("summary") if step == "name" else None)
                    if value is not None:
                        nxt.append(value)
        nodes = nxt
    flat = [x for node in nodes for x in (node if isinstance(node, list) else [node])]
    return ", ".join(t for t in (_text(x) for x in flat) if t)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, Mapping):
        for attr in ("summary", "name", "id"):
            if isinstance(value.get(attr), str):
                return str(value[attr])
    if isinstance(value, list):
        return ", ".join(t for t in (_text(x) for x in value) if t)
    return json.dumps(value, sort_keys=True, default=str)


def _render_item(item: TemplateItem, attrs: Mapping[str, object]) -> str:
    return _lookup(attrs, item.key) if _is_placeholder(item) else item.key


def render(template: Template, attrs: Mapping[str, object]) -> str:
    """One string: items joined by a space, or the ``{{...}}`` string filled in.

    ``attrs`` is ``{"incident": <PagerDuty REST incident>, "log_entries": [...]}`` (or a
    flat ``{"incident.title": ...}`` map). Absent data renders empty; unknown names raise.
    """
    _check(template)
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: _lookup(attrs, m.group(1)), template)
    parts = (_render_item(item, attrs) for item in _items(template))
    return " ".join(p for p in parts if p)


def render_description(template: Template, attrs: Mapping[str, object]) -> str:
    """For ``jira_append_description``: one line per item, ``Label: value`` for attributes."""
    _check(template)
    if isinstance(template, str):
        return render(template, attrs)
    lines: list[str] = []
    for item in _items(template):
        value = _render_item(item, attrs)
        if _is_placeholder(item):
            lines.append(f"{item.label or item.key}: {value}")
        elif value:
            lines.append(value)
    return "\n".join(lines)


def render_labels(template: Template, attrs: Mapping[str, object]) -> list[str]:
    """For ``jira_field_set_labels``: one label per item; Jira labels cannot hold spaces."""
    _check(template)
    values: Sequence[str]
    if isinstance(template, str):
        values = render(template, attrs).split(",")
    else:
        values = [_render_item(item, attrs) for item in _items(template)]
    labels = ["_".join(v.split()) for v in values]
    return list(dict.fromkeys(label for label in labels if label))
