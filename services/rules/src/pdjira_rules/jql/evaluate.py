"""Evaluate parsed JQL against one issue, in three-valued (Kleene) logic.

``evaluate`` answers True, False or UNKNOWN. UNKNOWN means "only Jira can say"; AND/OR still
decide when the known part is enough (``False AND UNKNOWN`` is False). On UNKNOWN the caller
asks Jira with :func:`pdjira_rules.jql.fallback.jira_fallback_query`.

The rule: decide locally only what Jira would decide the same way; everything else is UNKNOWN.

Decided locally, as Jira does: names compare case-insensitively and ids match too; ``!=`` and
``NOT IN`` never match an empty field; ``resolution = Unresolved`` means no resolution;
``IS [NOT] EMPTY`` on any field the payload carries; relative dates (``-5d``).

Asked of Jira (UNKNOWN):

- ``~`` / ``!~`` and the ``text`` field: Jira's full-text search tokenizes and stems (English),
  so "port" must not match "reporting" while "reports" matches "reporting"; we do not imitate
  the analyzer. Only ``~`` on an empty field is decided (False: nothing to find).
- custom fields (``cf[N]``, names): their type decides what ``=``, ``<``, ``IN`` mean (an
  option by name or id, a number, a text Jira refuses ``=`` on); only ``IS [NOT] EMPTY`` is
  local.
- absolute dates (``created > "2026-11-20"``) and date-only field values unless the searching
  user's time zone is known (``tz``): Jira reads them in that zone.
- ``NOT x`` when a field of ``x`` is empty: Jira's ``NOT assignee = jdoe`` leaves unassigned
  issues out (as ``!=`` does), which is not the plain negation; when every field ``x`` names is
  non-empty the negation is exact.
- functions, history operators (WAS, CHANGED), fields we cannot resolve or the payload does not
  carry, operators Jira refuses for a field, and any AST node kind this module does not know.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import Enum
from functools import partial
from typing import Final, Literal, TypeAlias

from pdjira_rules.jql.dates import date_kind, parse_issue_date, parse_jql_date
from pdjira_rules.jql.fallback import quote
from pdjira_rules.jql.fields import (
    MISSING,
    FieldKind,
    FieldSpec,
    Issue,
    Item,
    field_items,
    number_key,
    resolve_field,
)
from pdjira_rules.jql.parser import (
    And,
    Clause,
    Empty,
    FunctionCall,
    HistoryClause,
    ListOperand,
    Node,
    Not,
    Operand,
    Or,
    Query,
    Value,
)

__all__ = ["UNKNOWN", "ClausePlan", "Truth", "Unknown", "clause_plan", "evaluate", "local_gaps"]


class Unknown(Enum):
    UNKNOWN = "unknown"

    def __bool__(self) -> bool:
        # `if evaluate(...)` on UNKNOWN is almost always a bug: make it loud.
        raise TypeError("UNKNOWN has no truth value; compare with `is True` / `is UNKNOWN`")


UNKNOWN: Final = Unknown.UNKNOWN
Truth: TypeAlias = bool | Literal[Unknown.UNKNOWN]

_NO_FIELDS: Final[Mapping[str, str]] = {}
_ORDERING: Final = frozenset({"<", "<=", ">", ">="})
_KEY: Final = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-(\d+)$")


def evaluate(
    query: Query,
    issue: Issue,
    *,
    now: datetime,
    field_ids: Mapping[str, str] = _NO_FIELDS,
    tz: tzinfo | None = None,
) -> Truth:
    """Does ``issue`` (its key, id and typed fields, e.g. an IssueEvent) match?

    ``field_ids`` maps custom field names to ids ("Customer Tier" -> "customfield_10010");
    ``now`` anchors relative dates; ``tz`` is the searching user's time zone, the zone Jira
    reads absolute dates in (None: not known, so such clauses are UNKNOWN).
    What the issue's facts do not carry is UNKNOWN.
    """
    if query.where is None:
        return True
    return _Context(issue, now, field_ids, tz).node(query.where)


def local_gaps(query: Query, field_ids: Mapping[str, str] = _NO_FIELDS) -> tuple[str, ...]:
    """Why parts of the query can never be decided locally (empty: fully local, as long as
    the payload carries the fields, the user's zone is known for absolute dates and NOT meets
    no empty field). For rule validation and the audit trail; :func:`clause_plan` says it
    per clause."""
    gaps: list[str] = []

    def walk(node: Node) -> None:
        if isinstance(node, And | Or):
            for child in node.children:
                walk(child)
        elif isinstance(node, Not):
            walk(node.child)
        elif isinstance(node, HistoryClause):
            gaps.append(f"history operator {node.op.upper()} on '{_field_name(node)}'")
        elif isinstance(node, Clause):
            spec = resolve_field(node.field, field_ids)
            if spec is None:
                gaps.append(f"unknown field '{_field_name(node)}'")
            elif node.op not in ("is", "is not") and (
                spec.kind is FieldKind.ANY_TEXT or node.op in ("~", "!~")
            ):
                gaps.append(f"text search on '{_field_name(node)}' (Jira's words and stems)")
            elif node.op not in ("is", "is not") and spec.kind is FieldKind.CUSTOM:
                gaps.append(f"custom field '{_field_name(node)}' (its type decides '{node.op}')")
            gaps.extend(f"function {f.name}()" for f in _functions(node.operand))
        else:
            gaps.append(f"a clause the rules service does not know ({type(node).__name__})")

    if query.where is not None:
        walk(query.where)
    return tuple(dict.fromkeys(gaps))


@dataclass(frozen=True, slots=True)
class ClausePlan:
    """One clause of a query: decided here (``local``) or asked of Jira, and why."""

    clause: str  # the clause, written out again
    local: bool
    why: str


def clause_plan(
    query: Query, field_ids: Mapping[str, str] = _NO_FIELDS, *, zone_known: bool = False
) -> tuple[ClausePlan, ...]:
    """Which clauses of ``query`` the rules service decides itself and which it asks Jira
    (``pdjira jql check --instance``). ``field_ids``: custom field names -> ids (so a name is
    known as a custom field); ``zone_known``: whether the integration user's time zone is known
    (absolute dates are read in it). A clause marked local can still go to Jira for an event
    whose payload does not carry the field."""
    plans: list[ClausePlan] = []

    def walk(node: Node, negated: bool) -> None:
        if isinstance(node, And | Or):
            for child in node.children:
                walk(child, negated)
        elif isinstance(node, Not):
            walk(node.child, True)
        elif isinstance(node, Clause):
            why = _clause_gap(node, field_ids, zone_known=zone_known)
            text = _clause_text(node)
            if why is not None:
                plans.append(ClausePlan(text, False, why))
            elif negated:
                plans.append(
                    ClausePlan(
                        text,
                        True,
                        "under NOT: decided here when the field has a value; when it is "
                        "empty Jira decides (its NOT leaves empty fields out, as !=)",
                    )
                )
            else:
                plans.append(ClausePlan(text, True, "decided here, as Jira does"))
        elif isinstance(node, HistoryClause):
            plans.append(
                ClausePlan(
                    f"{_field_name(node)} {node.op.upper()} ...",
                    False,
                    "history operators need the issue's history: Jira decides",
                )
            )
        else:
            plans.append(
                ClausePlan(repr(node), False, "a clause kind the rules service does not know")
            )

    if query.where is not None:
        walk(query.where, False)
    return tuple(plans)


def _clause_gap(clause: Clause, field_ids: Mapping[str, str], *, zone_known: bool) -> str | None:
    """Why Jira must decide ``clause`` whatever the issue, or None: decided here."""
    spec = resolve_field(clause.field, field_ids)
    name = _field_name(clause)
    if spec is None:
        return f"'{name}' is not a field the rules service knows: Jira decides"
    functions = [f.name for f in _functions(clause.operand)]
    if functions:
        return f"function {functions[0]}(): Jira evaluates it"
    if clause.op in ("is", "is not") and spec.kind is not FieldKind.ANY_TEXT:
        return None
    if spec.kind is FieldKind.ANY_TEXT or clause.op in ("~", "!~"):
        return "text search: Jira's analyzer (words, English stems) decides"
    if spec.kind is FieldKind.TEXT:
        return f"Jira refuses '{clause.op}' on the text field '{name}'"
    if spec.kind is FieldKind.CUSTOM:
        return "a custom field: what the operator means depends on its type, Jira decides"
    if clause.op in _ORDERING and spec.kind not in (FieldKind.DATE, FieldKind.KEY):
        return f"'{clause.op}' on '{name}' uses Jira's order of values: Jira decides"
    if spec.kind is FieldKind.DATE:
        kinds = {date_kind(v.text) for v in _values(clause.operand)}
        if None in kinds:
            return "not a date Jira reads: Jira decides (or refuses it)"
        if not zone_known and ("absolute" in kinds or spec.attr == "due_date"):
            return (
                "an absolute date (or a date-only field): Jira reads it in the integration "
                "user's time zone, which is not known"
            )
    return None


def _values(operand: Operand) -> Iterable[Value]:
    if isinstance(operand, Value):
        yield operand
    elif isinstance(operand, ListOperand):
        for item in operand.items:
            yield from _values(item)


def _operand_text(operand: Operand) -> str:
    if isinstance(operand, Empty):
        return "EMPTY"
    if isinstance(operand, Value):
        return quote(operand.text) if operand.quoted else operand.text
    if isinstance(operand, FunctionCall):
        return f"{operand.name}({', '.join(operand.args)})"
    if isinstance(operand, ListOperand):
        return "(" + ", ".join(_operand_text(o) for o in operand.items) + ")"
    return "?"


def _clause_text(clause: Clause) -> str:
    field = _field_name(clause)
    if " " in field or not field:
        field = quote(field)
    op = clause.op.upper() if clause.op[0].isalpha() else clause.op
    return f"{field} {op} {_operand_text(clause.operand)}"


def _field_name(node: Clause | HistoryClause) -> str:
    f = node.field
    if f.custom_id is not None:
        return f"cf[{f.custom_id}]"
    return f.name + (f.suffix or "")


def _functions(operand: Operand) -> Iterable[FunctionCall]:
    if isinstance(operand, FunctionCall):
        yield operand
    elif isinstance(operand, ListOperand):
        for item in operand.items:
            yield from _functions(item)


def _and(values: Iterable[Callable[[], Truth]]) -> Truth:
    result: Truth = True
    for value in values:
        v = value()
        if v is False:
            return False
        if v is UNKNOWN:
            result = UNKNOWN
    return result


def _or(values: Iterable[Callable[[], Truth]]) -> Truth:
    result: Truth = False
    for value in values:
        v = value()
        if v is True:
            return True
        if v is UNKNOWN:
            result = UNKNOWN
    return result


def _not(value: Truth) -> Truth:
    return UNKNOWN if value is UNKNOWN else not value


def _any(values: Iterable[bool | None]) -> Truth:
    """True if any is True; else UNKNOWN if any could not be decided (None); else False."""
    result: Truth = False
    for v in values:
        if v is True:
            return True
        if v is None:
            result = UNKNOWN
    return result


class _Context:
    def __init__(
        self,
        issue: Issue,
        now: datetime,
        field_ids: Mapping[str, str],
        tz: tzinfo | None,
    ) -> None:
        self.issue = issue
        self.now = now
        self.field_ids = {name.casefold(): fid for name, fid in field_ids.items()}
        self.tz = tz

    def node(self, node: Node) -> Truth:
        if isinstance(node, And):
            return _and(partial(self.node, c) for c in node.children)
        if isinstance(node, Or):
            return _or(partial(self.node, c) for c in node.children)
        if isinstance(node, Not):
            return self.negate(node.child)
        if isinstance(node, Clause):
            return self.clause(node)
        return UNKNOWN  # history clauses, and any node kind we do not know

    def negate(self, child: Node) -> Truth:
        """Jira's ``NOT x`` leaves out issues where a field of ``x`` is empty (``NOT assignee =
        jdoe`` does not return unassigned issues, as ``assignee != jdoe``): the plain negation
        is exact only when every field ``x`` names has a value."""
        inner = self.node(child)
        if inner is UNKNOWN:
            return UNKNOWN
        if inner is True:
            return False
        return True if self.all_filled(child) else UNKNOWN

    def all_filled(self, node: Node) -> bool:
        if isinstance(node, And | Or):
            return all(self.all_filled(c) for c in node.children)
        if isinstance(node, Not):
            return self.all_filled(node.child)
        if not isinstance(node, Clause):
            return False
        spec = resolve_field(node.field, self.field_ids)
        if spec is None or spec.kind is FieldKind.ANY_TEXT:
            return False
        items = field_items(spec, self.issue)
        return items is not MISSING and bool(items)

    def clause(self, clause: Clause) -> Truth:
        spec = resolve_field(clause.field, self.field_ids)
        if spec is None:
            return UNKNOWN
        if spec.kind is FieldKind.ANY_TEXT:
            return self.any_text(clause)
        items = field_items(spec, self.issue)
        if items is MISSING:
            return UNKNOWN
        return self.compare(spec, items, clause.op, clause.operand)

    def compare(self, spec: FieldSpec, items: list[Item], op: str, operand: Operand) -> Truth:
        if op == "is":
            return not items
        if op == "is not":
            return bool(items)
        if isinstance(operand, FunctionCall):
            return UNKNOWN
        if op in ("~", "!~"):
            return self.contains(spec, items, op, operand)
        if spec.kind is FieldKind.TEXT:
            return UNKNOWN  # Jira refuses =, IN, < on text fields: let it say so
        if spec.kind is FieldKind.CUSTOM:
            return UNKNOWN  # what =, <, IN mean depends on the field's type, which Jira knows
        if op in _ORDERING:
            if not isinstance(operand, Value):
                return UNKNOWN
            return self.ordering(spec, items, op, operand.text)
        if op in ("=", "!="):
            if isinstance(operand, ListOperand):
                return UNKNOWN  # Jira refuses a list with '='
            hit = self.equals(spec, items, operand)
            if op == "=":
                return hit
            if items or isinstance(operand, Empty):
                return _not(hit)
            return False  # != never matches an empty field: "assignee != x" skips unassigned
        if op not in ("in", "not in") or not isinstance(operand, ListOperand):
            return UNKNOWN
        hit = _or(partial(self.member, spec, items, o) for o in operand.items)
        if op == "in":
            return hit
        # NOT IN: never matches an empty field (as != in Jira).
        if not items:
            return False
        return _not(hit)

    def member(self, spec: FieldSpec, items: list[Item], operand: Operand) -> Truth:
        if isinstance(operand, Value | Empty):
            return self.equals(spec, items, operand)
        return UNKNOWN  # functions and nested lists

    def equals(self, spec: FieldSpec, items: list[Item], operand: Value | Empty) -> Truth:
        if isinstance(operand, Empty):
            return not items
        text = operand.text
        if spec.kind is FieldKind.DATE:
            when = parse_jql_date(text, now=self.now, tz=self.tz)
            if when is None:
                return UNKNOWN
            return _any(_same_instant(self.date_of(item), when) for item in items)
        if spec.attr == "resolution" and text.strip().casefold() == "unresolved":
            return not items
        wanted = {text.strip().casefold()}
        num = number_key(text)
        if num is not None:
            wanted.add(num)
        return any(not item.keys.isdisjoint(wanted) for item in items)

    def date_of(self, item: Item) -> datetime | None:
        return parse_issue_date(item.raw, tz=self.tz)  # None: date-only and no zone known

    def ordering(self, spec: FieldSpec, items: list[Item], op: str, text: str) -> Truth:
        if spec.kind is FieldKind.DATE:
            when = parse_jql_date(text, now=self.now, tz=self.tz)
            if when is None:
                return UNKNOWN
            return _any(_cmp(self.date_of(item), op, when) for item in items)
        if spec.kind is FieldKind.KEY:
            return _any(_key_cmp(item.raw, op, text) for item in items)
        return UNKNOWN  # e.g. priority > Major needs Jira's priority order

    def contains(self, spec: FieldSpec, items: list[Item], op: str, operand: Operand) -> Truth:
        """Jira's full-text search (tokenized, stemmed) is not imitated: only "an empty field
        contains nothing" is decided here."""
        if op == "~" and not items and spec.kind is FieldKind.TEXT:
            return False
        return UNKNOWN

    def any_text(self, clause: Clause) -> Truth:
        """``text ~ x`` searches comments too, and with Jira's analyzer: always Jira's call."""
        return UNKNOWN


def _same_instant(left: datetime | None, right: datetime) -> bool | None:
    return None if left is None else left == right


def _cmp(left: object, op: str, right: object) -> bool | None:
    if left is None:
        return None
    try:
        if op == "<":
            return bool(left < right)  # type: ignore[operator]
        if op == "<=":
            return bool(left <= right)  # type: ignore[operator]
        if op == ">":
            return bool(left > right)  # type: ignore[operator]
        return bool(left >= right)  # type: ignore[operator]
    except TypeError:
        return None


def _key_cmp(raw: object, op: str, text: str) -> bool | None:
    """``key > PD-10``: Jira orders keys by number within one project."""
    mine = _KEY.match(raw) if isinstance(raw, str) else None
    theirs = _KEY.match(text.strip())
    if mine is None or theirs is None:
        return None
    if mine.group(1).upper() != theirs.group(1).upper():
        return False
    return _cmp(int(mine.group(2)), op, int(theirs.group(2)))
