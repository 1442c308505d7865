"""The JQL syntax tree: immutable, hashable, built by :func:`pdjira_jql.parse`.

How an evaluator walks it::

    Query.where        Node | None (None: the empty query, matches every issue)
    Query.order_by     tuple[SortKey, ...]

    Node   = Clause | HistoryClause | And | Or | Not
      And(children) / Or(children)   two or more children, flattened left to right
      Not(child)                      NOT x, !x
      Clause(field, op, operand)      op: "=", "!=", "~", "!~", "<", "<=", ">", ">=",
                                          "in", "not in", "is", "is not"
      HistoryClause(field, op, operand, predicates)
                                      op: "was", "was not", "was in", "was not in", "changed"
                                      (operand None for "changed");
                                      predicates: ((name, operand), ...) with name one of
                                      "after", "before", "on", "during", "by", "from", "to"

    Operand = Value | Empty | FunctionCall | ListOperand
      Value(text, quoted, number)     text decoded (escapes resolved); number: written as an
                                      unquoted integer (12, -3)
      Empty()                         EMPTY or NULL
      FunctionCall(name, args)        args: decoded strings
      ListOperand(items)              items are operands (lists may nest)

    Field(name, custom_id, properties, suffix)
      status                          Field("status")
      "Customer Tier"                 Field("Customer Tier")  (quoted name of a custom field)
      cf[10010]                       Field("cf", custom_id="10010")
      issue.property[k].a.b           Field("issue.property",
                                            properties=(FieldProperty("k", (".a.b",)),),
                                            suffix="[k].a.b")

Which operand kinds the grammar allows per operator (anything else is a syntax error):
``= != ~ !~``: value, EMPTY, function; ``< <= > >=``: value, function; ``in``/``not in``:
list, function; ``is``/``is not``: EMPTY; ``was``/``was not``: value, EMPTY, function;
``was in``/``was not in``: list, function. Predicate operands: any operand. ``from``/``to``
only follow CHANGED.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field  # `field` is also a clause attribute
from typing import TypeAlias

__all__ = [
    "And",
    "Clause",
    "Empty",
    "Field",
    "FieldProperty",
    "FunctionCall",
    "HistoryClause",
    "ListOperand",
    "Node",
    "Not",
    "Operand",
    "Or",
    "Query",
    "SortKey",
    "Value",
]


@dataclass(frozen=True, slots=True)
class FieldProperty:
    """``[key]`` after a field name, then the words written after it (``.path``)."""

    key: str
    path: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # as written (decoded), e.g. "status", "Customer Tier", "cf"
    custom_id: str | None = None  # "10010" for cf[10010]
    suffix: str | None = None  # the properties as written: "[key].path"; None without any
    properties: tuple[FieldProperty, ...] = ()


@dataclass(frozen=True, slots=True)
class Value:
    text: str
    quoted: bool
    # Written as an unquoted integer (12, -3). Not part of equality: `1` and `"1"` differ by
    # `quoted` already, and evaluators treat numbers as text unless the field is numeric.
    number: bool = dc_field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class Empty:
    """EMPTY or NULL."""


@dataclass(frozen=True, slots=True)
class FunctionCall:
    name: str
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListOperand:
    items: tuple[Operand, ...]


Operand: TypeAlias = Value | Empty | FunctionCall | ListOperand


@dataclass(frozen=True, slots=True)
class Clause:
    field: Field
    op: str  # "=", "!=", "~", "!~", "<", "<=", ">", ">=", "in", "not in", "is", "is not"
    operand: Operand
    pos: int = dc_field(default=0, compare=False)  # for messages; not part of the meaning


@dataclass(frozen=True, slots=True)
class HistoryClause:
    """WAS / WAS NOT / WAS IN / WAS NOT IN / CHANGED: needs the issue's history."""

    field: Field
    op: str
    operand: Operand | None
    predicates: tuple[tuple[str, Operand], ...]
    pos: int = dc_field(default=0, compare=False)  # for messages; not part of the meaning


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node: TypeAlias = Clause | HistoryClause | And | Or | Not


@dataclass(frozen=True, slots=True)
class SortKey:
    field: Field
    descending: bool | None  # None: no ASC/DESC given


@dataclass(frozen=True, slots=True)
class Query:
    where: Node | None  # None: empty query (or only ORDER BY), which matches every issue
    order_by: tuple[SortKey, ...]
    text: str
    where_text: str  # the query without ORDER BY or outer blanks: safe to wrap in parentheses
