"""Operators Jira refuses for a field's type, refused with Jira's own words before Jira is asked.

Jira's text fields (summary, description, environment, comment, the ``text`` master field, and
custom fields of the free-text types) take only ``~``, ``!~`` and ``IS [NOT] EMPTY``; any other
operator is a 400 "The operator '=' is not supported by the 'summary' field." (Advanced searching
- operators reference, "EQUALS: =": "The operator can't be used with text fields."). Custom
fields are known as text by their type key, which only the instance's field list says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from pdjira_rules.jql.parser import And, Clause, Field, Node, Not, Or, Query

__all__ = ["TEXT_FIELD_TYPES", "is_text_field_type", "unsupported_operators"]

# The custom field types Jira searches with its free-text searcher.
TEXT_FIELD_TYPES: Final = frozenset(
    {
        "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
        "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
        "com.atlassian.jira.plugin.system.customfieldtypes:readonlyfield",
    }
)
_SYSTEM_TEXT: Final = frozenset({"summary", "description", "environment", "comment", "text"})
_TEXT_OPERATORS: Final = frozenset({"~", "!~", "is", "is not"})


def is_text_field_type(custom_type: str | None) -> bool:
    """Is a custom field of this type (``schema.custom``) searched as text by Jira?"""
    return custom_type in TEXT_FIELD_TYPES


def unsupported_operators(
    query: Query, fields: Mapping[str, str] = {}, text_fields: Iterable[str] = ()
) -> tuple[str, ...]:
    """Jira's message for each clause whose operator Jira refuses on a text field.

    ``fields``: the instance's field id -> name; ``text_fields``: the ids of its text custom
    fields. A field we cannot tell is text is left to Jira (its 400 refuses the rule then)."""
    text_ids = {_custom_id(t) for t in text_fields}
    text_names = {name.casefold() for fid, name in fields.items() if _custom_id(fid) in text_ids}
    found: list[str] = []
    for clause in _clauses(query.where):
        if clause.op in _TEXT_OPERATORS:
            continue
        if _is_text(clause.field, text_ids, text_names):
            found.append(
                f"The operator '{clause.op}' is not supported by the '{_written(clause.field)}' "
                "field."
            )
    return tuple(dict.fromkeys(found))


def _clauses(node: Node | None) -> Iterable[Clause]:
    if isinstance(node, And | Or):
        for child in node.children:
            yield from _clauses(child)
    elif isinstance(node, Not):
        yield from _clauses(node.child)
    elif isinstance(node, Clause):
        yield node


def _is_text(field: Field, text_ids: set[str], text_names: set[str]) -> bool:
    if field.custom_id is not None:
        return field.custom_id in text_ids
    if field.suffix is not None:
        return False
    name = field.name.casefold()
    return name in _SYSTEM_TEXT or name in text_names


def _written(field: Field) -> str:
    if field.custom_id is not None:
        return f"cf[{field.custom_id}]"
    return field.name


def _custom_id(field_id: str) -> str:
    """ "customfield_10102", "cf[10102]" and "10102" -> "10102"."""
    fid = field_id.strip()
    if fid.lower().startswith("cf[") and fid.endswith("]"):
        return fid[3:-1]
    return fid.removeprefix("customfield_")
