"""Which part of a Jira issue (REST/webhook JSON) a JQL field name refers to, and its values.

A field's value is a list of items (one per label, component, option...); an empty list is
Jira's EMPTY. Each item carries the strings it can be matched by (name, key, id, e-mail...,
case-folded, as Jira compares names case-insensitively) and its raw scalar for ordering.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final

from pdjira_rules.jql.parser import Field

__all__ = [
    "MISSING",
    "FieldKind",
    "FieldSpec",
    "Item",
    "Missing",
    "field_items",
    "number_key",
    "resolve_field",
]


class FieldKind(Enum):
    NAMED = "named"  # objects matched by name/key/id: project, status, priority...
    USER = "user"
    LABELS = "labels"
    TEXT = "text"  # summary, description...: only ~, !~ and EMPTY make sense
    DATE = "date"
    KEY = "key"
    ANY_TEXT = "any text"  # the `text` master field
    CUSTOM = "custom"  # shape unknown until we see the value


@dataclass(frozen=True, slots=True)
class FieldSpec:
    kind: FieldKind
    path: tuple[str, ...]  # where under issue["fields"] (or the issue itself for KEY)
    attrs: tuple[str, ...] = ("name", "id")


@dataclass(frozen=True, slots=True)
class Item:
    keys: frozenset[str]
    raw: object


class Missing(Enum):
    """The payload does not carry the field at all, so only Jira can say."""

    MISSING = "missing"


MISSING: Final = Missing.MISSING

_USER: Final = ("name", "key", "emailAddress", "displayName")
_SYSTEM: Final[dict[str, FieldSpec]] = {
    "project": FieldSpec(FieldKind.NAMED, ("project",), ("key", "name", "id")),
    "issuetype": FieldSpec(FieldKind.NAMED, ("issuetype",)),
    "type": FieldSpec(FieldKind.NAMED, ("issuetype",)),
    "status": FieldSpec(FieldKind.NAMED, ("status",)),
    "statuscategory": FieldSpec(
        FieldKind.NAMED, ("status", "statusCategory"), ("key", "name", "id")
    ),
    "priority": FieldSpec(FieldKind.NAMED, ("priority",)),
    "resolution": FieldSpec(FieldKind.NAMED, ("resolution",)),
    "component": FieldSpec(FieldKind.NAMED, ("components",)),
    "fixversion": FieldSpec(FieldKind.NAMED, ("fixVersions",)),
    "affectedversion": FieldSpec(FieldKind.NAMED, ("versions",)),
    "parent": FieldSpec(FieldKind.NAMED, ("parent",), ("key", "id")),
    "labels": FieldSpec(FieldKind.LABELS, ("labels",)),
    "assignee": FieldSpec(FieldKind.USER, ("assignee",), _USER),
    "reporter": FieldSpec(FieldKind.USER, ("reporter",), _USER),
    "creator": FieldSpec(FieldKind.USER, ("creator",), _USER),
    "summary": FieldSpec(FieldKind.TEXT, ("summary",)),
    "description": FieldSpec(FieldKind.TEXT, ("description",)),
    "environment": FieldSpec(FieldKind.TEXT, ("environment",)),
    "text": FieldSpec(FieldKind.ANY_TEXT, ()),
    "key": FieldSpec(FieldKind.KEY, ("key",)),
    "issuekey": FieldSpec(FieldKind.KEY, ("key",)),
    "issue": FieldSpec(FieldKind.KEY, ("key",)),
    "id": FieldSpec(FieldKind.KEY, ("key",)),
    "created": FieldSpec(FieldKind.DATE, ("created",)),
    "createddate": FieldSpec(FieldKind.DATE, ("created",)),
    "updated": FieldSpec(FieldKind.DATE, ("updated",)),
    "updateddate": FieldSpec(FieldKind.DATE, ("updated",)),
    "resolved": FieldSpec(FieldKind.DATE, ("resolutiondate",)),
    "resolutiondate": FieldSpec(FieldKind.DATE, ("resolutiondate",)),
    "due": FieldSpec(FieldKind.DATE, ("duedate",)),
    "duedate": FieldSpec(FieldKind.DATE, ("duedate",)),
}
_CUSTOM_ATTRS: Final = ("value", "name", "key", "id", "displayName", "emailAddress")


def resolve_field(field: Field, field_ids: Mapping[str, str]) -> FieldSpec | None:
    """System fields win over custom fields of the same name, as in Jira; then ``cf[N]``;
    then custom field names from ``field_ids`` (name -> "customfield_N", "cf[N]" or "N")."""
    if field.custom_id is not None:
        return FieldSpec(FieldKind.CUSTOM, (f"customfield_{field.custom_id}",), _CUSTOM_ATTRS)
    if field.suffix is not None:
        return None  # issue.property[...] and the like: Jira's business
    name = field.name.casefold()
    if name in _SYSTEM:
        return _SYSTEM[name]
    field_id = field_ids.get(name)  # O(1) when the caller folded the names already
    if field_id is None:
        field_id = next((v for k, v in field_ids.items() if k.casefold() == name), None)
    if field_id is None:
        return None
    return FieldSpec(FieldKind.CUSTOM, (_custom_key(field_id),), _CUSTOM_ATTRS)


def _custom_key(field_id: str) -> str:
    fid = field_id.strip()
    if fid.lower().startswith("cf[") and fid.endswith("]"):
        fid = fid[3:-1]
    return f"customfield_{fid}" if fid.isdigit() else fid


def field_items(spec: FieldSpec, issue: Mapping[str, object]) -> list[Item] | Missing:
    """The field's items, [] if empty, MISSING if the payload does not carry it."""
    if spec.kind is FieldKind.KEY:
        keys = {_fold(issue.get("key")), _fold(issue.get("id"))} - {""}
        return [Item(frozenset(keys), issue.get("key"))] if keys else []
    node: object = issue.get("fields")
    for step in spec.path:
        if not isinstance(node, Mapping):
            return MISSING if node is not None or step == spec.path[0] else []
        if step not in node:
            return MISSING
        node = node[step]
    return _flatten(node, spec.attrs)


def _flatten(value: object, attrs: tuple[str, ...]) -> list[Item]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        out: list[Item] = []
        for element in value:
            if not isinstance(element, list | tuple):  # Jira has no lists of lists
                out.extend(_flatten(element, attrs))
        return out
    if isinstance(value, Mapping):
        keys = {_fold(value.get(a)) for a in attrs} - {""}
        raw = next((value.get(a) for a in attrs if value.get(a) is not None), None)
        return [Item(frozenset(keys), raw)] if keys else []
    folded = _fold(value)
    if not folded:
        return []
    keys = {folded}
    num = number_key(value)
    if num is not None:
        keys.add(num)
    return [Item(frozenset(keys), value)]


def _fold(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, int | float):
        return number_key(value) or ""
    return ""


def number_key(value: object) -> str | None:
    """A canonical spelling of a number (5, 5.0 and "5.0" all give "5"), or None."""
    if isinstance(value, bool):
        return None
    num: float
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        num = value
    elif isinstance(value, str):
        try:
            num = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(num):
        return None
    return str(int(num)) if num.is_integer() and abs(num) < 1e16 else repr(num)
