"""Which field of a Jira issue (its typed facts, :class:`pdjira_common.facts.IssueFields`) a
JQL field name refers to, and its values.

A field's value is a list of items (one per label, component, option...); an empty list is
Jira's EMPTY. Each item carries the strings it can be matched by (name, key, id, e-mail...,
case-folded, as Jira compares names case-insensitively) and its raw scalar for ordering. A
field the webhook did not carry (or that was cut to fit the event) is MISSING: only Jira can say.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final, Protocol

from msgspec import UnsetType
from pdjira_common.facts import FieldValue, IssueFields, JiraRef, JiraUser

from pdjira_rules.jql.parser import Field

__all__ = [
    "MISSING",
    "FieldKind",
    "FieldSpec",
    "Issue",
    "Item",
    "Missing",
    "field_items",
    "number_key",
    "resolve_field",
    "text_values",
]


class Issue(Protocol):
    """What JQL is evaluated against (an IssueEvent is one)."""

    @property
    def key(self) -> str: ...

    @property
    def issue_id(self) -> str: ...

    @property
    def fields(self) -> IssueFields: ...


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
    attr: str  # the IssueFields attribute, or the custom field id ("customfield_10010")


@dataclass(frozen=True, slots=True)
class Item:
    keys: frozenset[str]
    raw: object


class Missing(Enum):
    """The payload does not carry the field at all, so only Jira can say."""

    MISSING = "missing"


MISSING: Final = Missing.MISSING

_SYSTEM: Final[dict[str, FieldSpec]] = {
    "project": FieldSpec(FieldKind.NAMED, "project"),
    "issuetype": FieldSpec(FieldKind.NAMED, "issue_type"),
    "type": FieldSpec(FieldKind.NAMED, "issue_type"),
    "status": FieldSpec(FieldKind.NAMED, "status"),
    "statuscategory": FieldSpec(FieldKind.NAMED, "status_category"),
    "priority": FieldSpec(FieldKind.NAMED, "priority"),
    "resolution": FieldSpec(FieldKind.NAMED, "resolution"),
    "component": FieldSpec(FieldKind.NAMED, "components"),
    "fixversion": FieldSpec(FieldKind.NAMED, "fix_versions"),
    "affectedversion": FieldSpec(FieldKind.NAMED, "versions"),
    "parent": FieldSpec(FieldKind.NAMED, "parent"),
    "labels": FieldSpec(FieldKind.LABELS, "labels"),
    "assignee": FieldSpec(FieldKind.USER, "assignee"),
    "reporter": FieldSpec(FieldKind.USER, "reporter"),
    "creator": FieldSpec(FieldKind.USER, "creator"),
    "summary": FieldSpec(FieldKind.TEXT, "summary"),
    "description": FieldSpec(FieldKind.TEXT, "description"),
    "environment": FieldSpec(FieldKind.TEXT, "environment"),
    "text": FieldSpec(FieldKind.ANY_TEXT, ""),
    "key": FieldSpec(FieldKind.KEY, "key"),
    "issuekey": FieldSpec(FieldKind.KEY, "key"),
    "issue": FieldSpec(FieldKind.KEY, "key"),
    "id": FieldSpec(FieldKind.KEY, "key"),
    "created": FieldSpec(FieldKind.DATE, "created"),
    "createddate": FieldSpec(FieldKind.DATE, "created"),
    "updated": FieldSpec(FieldKind.DATE, "updated"),
    "updateddate": FieldSpec(FieldKind.DATE, "updated"),
    "resolved": FieldSpec(FieldKind.DATE, "resolution_date"),
    "resolutiondate": FieldSpec(FieldKind.DATE, "resolution_date"),
    "due": FieldSpec(FieldKind.DATE, "due_date"),
    "duedate": FieldSpec(FieldKind.DATE, "due_date"),
}
# The REST field id of each attribute, as IssueFields.clipped names it.
_REST_IDS: Final = {
    "issue_type": "issuetype",
    "fix_versions": "fixVersions",
    "resolution_date": "resolutiondate",
    "due_date": "duedate",
    "status_category": "status",
}


def resolve_field(field: Field, field_ids: Mapping[str, str]) -> FieldSpec | None:
    """System fields win over custom fields of the same name, as in Jira; then ``cf[N]``;
    then custom field names from ``field_ids`` (name -> "customfield_N", "cf[N]" or "N")."""
    if field.custom_id is not None:
        return FieldSpec(FieldKind.CUSTOM, f"customfield_{field.custom_id}")
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
    return FieldSpec(FieldKind.CUSTOM, _custom_key(field_id))


def _custom_key(field_id: str) -> str:
    fid = field_id.strip()
    if fid.lower().startswith("cf[") and fid.endswith("]"):
        fid = fid[3:-1]
    return f"customfield_{fid}" if fid.isdigit() else fid


def field_items(spec: FieldSpec, issue: Issue) -> list[Item] | Missing:
    """The field's items, [] if empty, MISSING if the payload does not carry it (whole)."""
    if spec.kind is FieldKind.KEY:
        keys = {_fold(issue.key), _fold(issue.issue_id)} - {""}
        return [Item(frozenset(keys), issue.key)] if keys else []
    fields = issue.fields
    if spec.kind is FieldKind.CUSTOM:
        values = fields.custom.get(spec.attr)
        if values is None or spec.attr in fields.clipped:
            return MISSING
        return [item for v in values if (item := _value_item(v)) is not None]
    if _REST_IDS.get(spec.attr, spec.attr) in fields.clipped:
        return MISSING
    value = getattr(fields, spec.attr)
    if isinstance(value, UnsetType):
        return MISSING
    return _items(value)


def _items(value: object) -> list[Item]:
    if value is None:
        return []
    if isinstance(value, tuple):
        return [item for element in value for item in _items(element)]
    if isinstance(value, JiraRef):
        return _named(value.name, value.key, value.id)
    if isinstance(value, JiraUser):
        return _named(value.name, value.key, value.email, value.display_name)
    return _scalar_items(value)


def _named(*names: str | None) -> list[Item]:
    keys = {_fold(n) for n in names} - {""}
    raw = next((n for n in names if n is not None), None)
    return [Item(frozenset(keys), raw)] if keys else []


def _value_item(value: FieldValue) -> Item | None:
    if value.names:
        keys = {_fold(n) for n in value.names} - {""}
        return Item(frozenset(keys), value.names[0]) if keys else None
    found = _scalar_items(value.value)
    return found[0] if found else None


def _scalar_items(value: object) -> list[Item]:
    folded = _fold(value)
    if not folded:
        return []
    keys = {folded}
    num = number_key(value)
    if num is not None:
        keys.add(num)
    return [Item(frozenset(keys), value)]


def text_values(fields: IssueFields) -> Iterable[str]:
    """The texts ``text ~`` searches in the payload: summary, description, environment and
    custom fields holding text (a hit in a text cut to fit is still a hit)."""
    for attr in ("summary", "description", "environment"):
        value = getattr(fields, attr)
        if isinstance(value, str):
            yield value
    for values in fields.custom.values():
        yield from (v.value for v in values if isinstance(v.value, str))


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
