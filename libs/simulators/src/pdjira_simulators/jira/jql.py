"""A small JQL subset: parser and evaluator, pure (no issue store, no I/O).

Supported: `field op value` with `=`, `!=`, `IN`, `NOT IN`, `IS [NOT] EMPTY|NULL`, `~`, `!~`
and `<`, `<=`, `>`, `>=` on dates; `AND`, `OR`, `NOT`, parentheses, quoted strings,
`ORDER BY`. Anything else is a JqlError, which the API answers with 400 like Jira does for a
query it cannot run. Negative operators follow Jira: `!=` / `NOT IN` never match an empty field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = [
    "And",
    "Clause",
    "Expr",
    "JqlError",
    "JqlSubject",
    "Not",
    "Or",
    "Query",
    "SortKey",
    "clauses",
    "evaluate",
    "parse",
    "parse_date",
]

# Canonical field name per accepted spelling.
FIELD_ALIASES = {
    "key": "key",
    "issuekey": "key",
    "id": "key",
    "project": "project",
    "labels": "labels",
    "label": "labels",
    "status": "status",
    "statuscategory": "statuscategory",
    "issuetype": "issuetype",
    "type": "issuetype",
    "priority": "priority",
    "resolution": "resolution",
    "assignee": "assignee",
    "reporter": "reporter",
    "summary": "summary",
    "description": "description",
    "text": "text",
    "comment": "comment",
    "created": "created",
    "createddate": "created",
    "updated": "updated",
    "updateddate": "updated",
    "resolutiondate": "resolutiondate",
    "resolved": "resolutiondate",
}
TEXT_FIELDS = frozenset({"summary", "description", "text", "comment"})
DATE_FIELDS = frozenset({"created", "updated", "resolutiondate"})
_CUSTOM = re.compile(r"^(?:customfield_(\d+)|cf\[(\d+)\])$", re.IGNORECASE)

_OPERATORS = ("!=", "!~", ">=", "<=", "=", "~", ">", "<")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|!~|>=|<=|=|~|>|<)
      | (?P<punct>[(),])
      | (?P<word>[^\s(),=!~<>"']+)
    )""",
    re.VERBOSE,
)


class JqlError(ValueError):
    """The query cannot be parsed or uses something outside the subset."""


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # string | op | punct | word | end
    text: str
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "word" else ""


@dataclass(frozen=True, slots=True)
class Clause:
    field: str
    op: str  # = != in "not in" is "is not" ~ !~ < <= > >=
    values: tuple[str | None, ...]  # None stands for EMPTY/NULL


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


Expr = Clause | And | Or | Not


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    ascending: bool


@dataclass(frozen=True, slots=True)
class Query:
    where: Expr | None
    order_by: tuple[SortKey, ...]


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise JqlError(
                f"Error in the JQL Query: The character '{text[pos]}' is a reserved JQL "
                f"character. (line 1, character {pos + 1})"
            )
        kind = match.lastgroup or "word"
        raw = match.group(kind)
        start = match.start(kind)
        if kind == "string":
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        tokens.append(Token(kind, raw, start))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def canonical_field(name: str) -> str:
    custom = _CUSTOM.match(name)
    if custom:
        return f"customfield_{custom.group(1) or custom.group(2)}"
    canonical = FIELD_ALIASES.get(name.lower())
    if canonical is None:
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
    return canonical


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, expecting: str) -> JqlError:
        tok = self.tok
        got = "<EOF>" if tok.kind == "end" else tok.text
        return JqlError(
            f"Error in the JQL Query: Expecting {expecting} but got '{got}'. "
            f"(line 1, character {tok.pos + 1})"
        )

    def query(self) -> Query:
        where = None
        if self.tok.kind != "end" and self.tok.upper != "ORDER":
            where = self.or_expr()
        order: list[SortKey] = []
        if self.tok.upper == "ORDER":
            self.advance()
            if self.tok.upper != "BY":
                raise self.fail("'BY'")
            self.advance()
            while True:
                if self.tok.kind not in ("word", "string"):
                    raise self.fail("a field name")
                field = canonical_field(self.advance().text)
                ascending = True
                if self.tok.upper in ("ASC", "DESC"):
                    ascending = self.advance().upper == "ASC"
                order.append(SortKey(field, ascending))
                if self.tok.text != ",":
                    break
                self.advance()
        if self.tok.kind != "end":
            raise self.fail("either 'OR' or 'AND'")
        return Query(where, tuple(order))

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.tok.upper == "OR" or self.tok.text == "||":
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.tok.upper == "AND" or self.tok.text == "&&":
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Expr:
        if self.tok.upper == "NOT" or self.tok.text == "!":
            self.advance()
            return Not(self.not_expr())
        if self.tok.text == "(" and self.tok.kind == "punct":
            self.advance()
            inner = self.or_expr()
            if self.tok.text != ")":
                raise self.fail("')'")
            self.advance()
            return inner
        return self.clause()

    def clause(self) -> Clause:
        if self.tok.kind not in ("word", "string"):
            raise self.fail("a field name")
        field = canonical_field(self.advance().text)
        op = self.operator()
        if op in ("in", "not in"):
            return Clause(field, op, self.value_list())
        if op in ("is", "is not"):
            if self.tok.upper not in ("EMPTY", "NULL"):
                raise self.fail("EMPTY or NULL")
            self.advance()
            return Clause(field, op, (None,))
        return Clause(field, op, (self.value(),))

    def operator(self) -> str:
        tok = self.tok
        if tok.kind == "op":
            self.advance()
            return tok.text
        if tok.upper == "IN":
            self.advance()
            return "in"
        if tok.upper == "IS":
            self.advance()
            if self.tok.upper == "NOT":
                self.advance()
                return "is not"
            return "is"
        if tok.upper == "NOT":
            self.advance()
            if self.tok.upper != "IN":
                raise self.fail("'IN'")
            self.advance()
            return "not in"
        if tok.upper in ("WAS", "CHANGED"):
            raise JqlError(f"History operator '{tok.text}' is not supported by the simulator.")
        raise self.fail("operator")

    def value(self) -> str | None:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return tok.text
        if tok.kind == "word":
            self.advance()
            if self.tok.text == "(" and self.tok.kind == "punct":
                raise JqlError(
                    f"Unable to find JQL function '{tok.text}()'. JQL functions are not "
                    "supported by the simulator."
                )
            if tok.upper in ("EMPTY", "NULL"):
                return None
            return tok.text
        raise self.fail("either a value, list or function")

    def value_list(self) -> tuple[str | None, ...]:
        if self.tok.text != "(":
            raise self.fail("'('")
        self.advance()
        values = [self.value()]
        while self.tok.text == ",":
            self.advance()
            values.append(self.value())
        if self.tok.text != ")":
            raise self.fail("')'")
        self.advance()
        return tuple(values)


def parse(text: str) -> Query:
    """Parse JQL; raise JqlError (message phrased like Jira's) on anything unsupported."""
    query = _Parser(text).query()
    for clause in clauses(query.where):
        _check_operator(clause)
    return query


def _check_operator(clause: Clause) -> None:
    text_only = ("~", "!~", "is", "is not")
    if clause.field in TEXT_FIELDS and clause.op not in text_only:
        raise JqlError(
            f"The operator '{clause.op}' is not supported by the '{clause.field}' field."
        )
    if (
        clause.field not in TEXT_FIELDS
        and not clause.field.startswith("customfield_")
        and (clause.op in ("~", "!~"))
    ):
        raise JqlError(
            f"The operator '{clause.op}' is not supported by the '{clause.field}' field."
        )
    if clause.op in ("<", "<=", ">", ">=") and clause.field not in DATE_FIELDS:
        raise JqlError(
            f"The operator '{clause.op}' is not supported by the '{clause.field}' field."
        )


def clauses(expr: Expr | None) -> Iterator[Clause]:
    """Every clause, for value validation against the instance's data."""
    if expr is None:
        return
    if isinstance(expr, Clause):
        yield expr
    elif isinstance(expr, Not):
        yield from clauses(expr.item)
    else:
        for item in expr.items:
            yield from clauses(item)


_RELATIVE = re.compile(r"^([-+]?)(\d+)([wdhm])$")
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def parse_date(value: str, now: datetime) -> datetime:
    """Absolute (`yyyy-MM-dd[ HH:mm]`, `/` also) or relative (`-5m`, `-2h`, `-1d`, `-1w`)."""
    rel = _RELATIVE.match(value.strip())
    if rel:
        sign = -1 if rel.group(1) == "-" else 1
        unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[rel.group(3)]
        return now + sign * timedelta(**{unit: int(rel.group(2))})
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{value}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
        "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


class JqlSubject(Protocol):
    """What the evaluator needs from an issue."""

    def values(self, field: str) -> Sequence[frozenset[str]]:
        """One set of lower-cased identities (id, key, name...) per value the field holds."""

    def text(self, field: str) -> str:
        """Searchable text for `~`."""

    def timestamp(self, field: str) -> datetime | None:
        """Date fields."""


def evaluate(expr: Expr | None, subject: JqlSubject, now: Callable[[], datetime]) -> bool:
    if expr is None:
        return True
    if isinstance(expr, And):
        return all(evaluate(e, subject, now) for e in expr.items)
    if isinstance(expr, Or):
        return any(evaluate(e, subject, now) for e in expr.items)
    if isinstance(expr, Not):
        return not evaluate(expr.item, subject, now)
    return _clause(expr, subject, now)


def _clause(c: Clause, subject: JqlSubject, now: Callable[[], datetime]) -> bool:
    if c.field in DATE_FIELDS and c.op in ("<", "<=", ">", ">=", "=", "!="):
        stamp = subject.timestamp(c.field)
        value = c.values[0]
        if value is None:
            return (stamp is None) == (c.op == "=")
        if stamp is None:
            return False
        # Jira compares dates at minute precision.
        left = stamp.replace(second=0, microsecond=0)
        right = parse_date(value, now()).replace(second=0, microsecond=0)
        return {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
            "=": left == right,
            "!=": left != right,
        }[c.op]
    if c.op in ("~", "!~"):
        haystack = subject.text(c.field).lower()
        words = [w.strip("*") for w in (c.values[0] or "").lower().split()]
        found = all(w in haystack for w in words if w)
        return found if c.op == "~" else not found
    held = subject.values(c.field)
    wanted = {v.lower() for v in c.values if v is not None}
    wants_empty = any(v is None for v in c.values)
    hit = any(identities & wanted for identities in held) or (wants_empty and not held)
    if c.op in ("=", "in"):
        return hit
    if c.op in ("!=", "not in"):
        return bool(held) and not hit
    if c.op == "is":
        return not held
    if c.op == "is not":
        return bool(held)
    raise JqlError(f"Operator '{c.op}' is not supported.")
