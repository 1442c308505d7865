"""A JQL subset: parser and evaluator, pure (no issue store, no I/O).

Supported: `field op value` with `=`, `!=`, `IN`, `NOT IN`, `IS [NOT] EMPTY|NULL`, `~`, `!~`
and `<`, `<=`, `>`, `>=` on dates; `AND`, `OR`, `NOT`, parentheses, quoted strings,
`ORDER BY`. Functions: `currentUser()`, `membersOf("group")` (user fields), `now()`,
`startOf|endOf Day|Week|Month|Year(["+/-n(yMwdhm)"])` (date fields). History operators:
`WAS [NOT] [IN]` and `CHANGED` with the predicates `AFTER`, `BEFORE`, `ON`, `DURING`, `BY`
(and `FROM` / `TO` for `CHANGED`) on status, assignee, priority, reporter and resolution.
Anything else is a JqlError, which the API answers with 400 like Jira does for a query it cannot
run. Negative operators follow Jira: `!=` / `NOT IN` never match an empty field.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = [
    "And",
    "Change",
    "Clause",
    "Env",
    "Expr",
    "Func",
    "JqlError",
    "JqlSubject",
    "Not",
    "Or",
    "Predicate",
    "Query",
    "SortKey",
    "Value",
    "clauses",
    "date_function",
    "evaluate",
    "functions",
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
    "creator": "creator",
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
USER_FIELDS = frozenset({"assignee", "reporter", "creator"})
# Jira keeps change history searchable for these system fields (and fixVersion).
HISTORY_FIELDS = frozenset({"status", "assignee", "priority", "reporter", "resolution"})
HISTORY_OPS = frozenset({"was", "was not", "was in", "was not in", "changed"})
_CUSTOM = re.compile(r"^(?:customfield_(\d+)|cf\[(\d+)\])$", re.IGNORECASE)

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|!~|>=|<=|=|~|>|<)
      | (?P<punct>[(),])
      | (?P<word>[^\s(),=!~<>"']+)
    )""",
    re.VERBOSE,
)

# ----------------------------------------------------------------------------- functions

# lower-case name -> (canonical name, min args, max args)
_USER_FUNCTIONS = {"currentuser": ("currentUser", 0, 0), "membersof": ("membersOf", 1, 1)}
_LIST_FUNCTIONS = frozenset({"membersOf"})
_PERIODS = {"day": "d", "week": "w", "month": "M", "year": "y"}
_DATE_FUNCTIONS = {"now": ("now", 0, 0)} | {
    f"{edge}of{period}": (f"{edge}Of{period.capitalize()}", 0, 1)
    for edge in ("start", "end")
    for period in _PERIODS
}
# Real Jira functions the simulator does not model: a clear 400 rather than a wrong answer.
_UNSIMULATED = {
    name.lower(): name
    for name in (
        "issueHistory",
        "watchedIssues",
        "votedIssues",
        "linkedIssues",
        "openSprints",
        "closedSprints",
        "futureSprints",
        "releasedVersions",
        "latestReleasedVersion",
        "unreleasedVersions",
        "earliestUnreleasedVersion",
        "projectsLeadByUser",
        "componentsLeadByUser",
        "projectsWhereUserHasPermission",
        "projectsWhereUserHasRole",
        "issuesWithRemoteLinksByGlobalId",
        "cascadeOption",
        "standardIssueTypes",
        "subTaskIssueTypes",
        "currentLogin",
        "lastLogin",
        "updatedBy",
    )
}
_INCREMENT = re.compile(r"^([-+]?)(\d+)([yMwdhm]?)$")


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
class Func:
    """A function call in a value position, e.g. `membersOf("jira-administrators")`."""

    name: str  # canonical spelling, e.g. "currentUser"
    args: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.name}({', '.join(self.args)})"


Value = str | Func | None  # None stands for EMPTY/NULL


@dataclass(frozen=True, slots=True)
class Predicate:
    """A history predicate: `after|before|on|during|by|from|to` and its value(s)."""

    kind: str
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Clause:
    field: str
    # = != in "not in" is "is not" ~ !~ < <= > >= was "was not" "was in" "was not in" changed
    op: str
    values: tuple[Value, ...]
    predicates: tuple[Predicate, ...] = ()


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


_DATE_PREDICATES = ("AFTER", "BEFORE", "ON")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    @property
    def next_tok(self) -> Token:
        return self.tokens[min(self.i + 1, len(self.tokens) - 1)]

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
                field_name = canonical_field(self.advance().text)
                ascending = True
                if self.tok.upper in ("ASC", "DESC"):
                    ascending = self.advance().upper == "ASC"
                order.append(SortKey(field_name, ascending))
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
        field_name = canonical_field(self.advance().text)
        op = self.operator()
        if op in ("in", "not in", "was in", "was not in"):
            values = self.value_list()
        elif op in ("is", "is not"):
            if self.tok.upper not in ("EMPTY", "NULL"):
                raise self.fail("EMPTY or NULL")
            self.advance()
            values = (None,)
        elif op == "changed":
            values = ()
        else:
            values = (self.value(),)
        predicates = self.predicates(op) if op in HISTORY_OPS else ()
        return Clause(field_name, op, values, predicates)

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
        if tok.upper == "WAS":
            self.advance()
            negated = self.tok.upper == "NOT"
            if negated:
                self.advance()
            if self.tok.upper == "IN":
                self.advance()
                return "was not in" if negated else "was in"
            return "was not" if negated else "was"
        if tok.upper == "CHANGED":
            self.advance()
            return "changed"
        raise self.fail("operator")

    def predicates(self, op: str) -> tuple[Predicate, ...]:
        allowed = {"AFTER", "BEFORE", "ON", "DURING", "BY"}
        if op == "changed":
            allowed |= {"FROM", "TO"}
        found: list[Predicate] = []
        while self.tok.upper in allowed:
            kind = self.advance().upper
            if kind == "DURING":
                values = self.value_list()
                if len(values) != 2:
                    raise JqlError(
                        "The 'DURING' predicate needs exactly two dates, e.g. "
                        'DURING ("2024-01-01", "2024-01-31").'
                    )
            elif kind == "BY" and self.tok.text == "(" and self.tok.kind == "punct":
                values = self.value_list()
            else:
                values = (self.value(),)
            found.append(Predicate(kind.lower(), values))
        return tuple(found)

    def value(self) -> Value:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return tok.text
        if tok.kind == "word":
            if self.next_tok.text == "(" and self.next_tok.kind == "punct":
                return self.function()
            self.advance()
            if tok.upper in ("EMPTY", "NULL"):
                return None
            return tok.text
        raise self.fail("either a value, list or function")

    def function(self) -> Func:
        name = self.advance().text
        self.advance()  # "("
        args: list[str] = []
        while self.tok.text != ")" or self.tok.kind != "punct":
            if self.tok.kind not in ("string", "word"):
                raise self.fail("')'")
            args.append(self.advance().text)
            if self.tok.text == ",":
                self.advance()
            elif self.tok.text != ")":
                raise self.fail("')'")
        self.advance()  # ")"
        return Func(_function_name(name), tuple(args))

    def value_list(self) -> tuple[Value, ...]:
        if self.tok.kind == "word" and self.next_tok.text == "(":
            return (self.function(),)  # a list function: `IN membersOf("x")`
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


def _function_name(written: str) -> str:
    """The canonical name of a function (JQL function names are case-insensitive)."""
    lower = written.lower()
    for table in (_USER_FUNCTIONS, _DATE_FUNCTIONS):
        if lower in table:
            return table[lower][0]
    if lower in _UNSIMULATED:
        raise JqlError(
            f"The JQL function '{_UNSIMULATED[lower]}()' exists in Jira but is not supported by "
            "the simulator."
        )
    raise JqlError(f"Unable to find JQL function '{written}()'.")


def parse(text: str) -> Query:
    """Parse JQL; raise JqlError (message phrased like Jira's) on anything unsupported."""
    query = _Parser(text).query()
    for clause in clauses(query.where):
        _check_operator(clause)
        _check_functions(clause)
    return query


def _check_operator(clause: Clause) -> None:
    if clause.op in HISTORY_OPS:
        if clause.field not in HISTORY_FIELDS:
            raise JqlError(f"History searches do not support the '{clause.field}' field.")
        return
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


def _arity(func: Func) -> None:
    lower = func.name.lower()
    _, low, high = _USER_FUNCTIONS.get(lower) or _DATE_FUNCTIONS[lower]
    count = len(func.args)
    if low <= count <= high:
        return
    if low == high:
        raise JqlError(f"Function '{func.name}' expected '{low}' arguments but received '{count}'.")
    raise JqlError(
        f"Function '{func.name}' expected between '{low}' and '{high}' arguments but received "
        f"'{count}'."
    )


def _invalid_for(func: Func, field_name: str) -> JqlError:
    return JqlError(
        f"A value provided by the function '{func.name}' is invalid for the field '{field_name}'."
    )


def _check_functions(clause: Clause) -> None:
    """Arity, increments, and whether a function may stand where it is written."""
    history = clause.op in HISTORY_OPS
    for func in (v for v in clause.values if isinstance(v, Func)):
        _arity(func)
        is_user = func.name.lower() in _USER_FUNCTIONS
        fits = clause.field in (USER_FIELDS if is_user else DATE_FIELDS)
        if history or not fits:
            # Jira: `assignee WAS currentUser()` -> "A value provided by the function ..."
            raise _invalid_for(func, clause.field)
        if func.name in _LIST_FUNCTIONS and clause.op not in ("in", "not in"):
            raise JqlError(
                f"The operator '{clause.op}' does not support the list value '{func}' for field "
                f"'{clause.field}'."
            )
        if not is_user and func.args:
            _increment(func)
    for predicate in clause.predicates:
        for func in (v for v in predicate.values if isinstance(v, Func)):
            _arity(func)
            is_user = func.name.lower() in _USER_FUNCTIONS
            if predicate.kind == "by" and is_user:
                continue
            if predicate.kind in ("after", "before", "on", "during") and not is_user:
                if func.args:
                    _increment(func)
                continue
            raise _invalid_for(func, clause.field)


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


def functions(clause: Clause) -> Iterator[Func]:
    """Every function call in a clause, its predicates included."""
    for value in (*clause.values, *(v for p in clause.predicates for v in p.values)):
        if isinstance(value, Func):
            yield value


_RELATIVE = re.compile(r"^([-+]?)(\d+)([wdhm])$")
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def parse_date(value: str, now: datetime) -> datetime:
    """Absolute (`yyyy-MM-dd[ HH:mm]`, `/` also) or relative (`-5m`, `-2h`, `-1d`, `-1w`)."""
    rel = _RELATIVE.match(value.strip())
    if rel:
        sign = -1 if rel.group(1) == "-" else 1
        unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[rel.group(3)]
        return now + sign * timedelta(**{unit: int(rel.group(2))})
    return _absolute_date(value.strip())


@functools.lru_cache(maxsize=1024)
def _absolute_date(value: str) -> datetime:
    """A date literal (strptime is slow, and a search compares every issue with the same
    literal: cached)."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{value}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
        "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


# ----------------------------------------------------------------------------- date functions


def _period(func: Func) -> str:
    """ "day" for startOfDay / endOfDay, etc."""
    return func.name.lower().removeprefix("start").removeprefix("end").removeprefix("of")


def _increment(func: Func) -> tuple[int, str]:
    """`"-1d"`, `"+2w"`, `"1M"`; a bare number counts in the function's own period."""
    period = _period(func)
    if not func.args:
        return 0, _PERIODS.get(period, "d")
    match = _INCREMENT.match(func.args[0].strip())
    if match is None:
        raise JqlError(
            f"Duration for function '{func.name}' should have the format (+/-)n(yMwdhm), "
            "e.g -1M for 1 month earlier."
        )
    sign = -1 if match.group(1) == "-" else 1
    return sign * int(match.group(2)), match.group(3) or _PERIODS[period]


def _shift(value: datetime, amount: int, unit: str) -> datetime:
    if unit in ("M", "y"):
        months = value.year * 12 + value.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = divmod(months, 12)
        day = min(value.day, calendar.monthrange(year, month + 1)[1])
        return value.replace(year=year, month=month + 1, day=day)
    unit_name = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[unit]
    return value + timedelta(**{unit_name: amount})


def _start_of(period: str, value: datetime) -> datetime:
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "day":
        return day
    if period == "week":  # Jira's default (non-ISO) week starts on Sunday
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if period == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _next_start(period: str, start: datetime) -> datetime:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(weeks=1)
    return _shift(start, 1, "M" if period == "month" else "y")


def date_function(func: Func, now: datetime) -> datetime:
    """The instant a date function stands for (UTC, the simulated users' time zone)."""
    if func.name == "now":
        return now
    amount, unit = _increment(func)
    edge, period = ("end" if func.name.startswith("end") else "start"), _period(func)
    start = _start_of(period, now)
    if edge == "start":
        return _shift(start, amount, unit)
    if period in ("month", "year") and unit in ("M", "y"):
        # The end of the shifted period (end of last month is not "31 days before").
        return _next_start(period, _shift(start, amount, unit)) - timedelta(milliseconds=1)
    return _shift(_next_start(period, start) - timedelta(milliseconds=1), amount, unit)


# ----------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class Change:
    """One change of a field (a changelog item): identities before/after, when, by whom."""

    from_value: frozenset[str]
    to_value: frozenset[str]
    at: datetime
    by: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Span:
    value: frozenset[str]
    start: datetime
    end: datetime | None
    by: frozenset[str]


@dataclass(frozen=True, slots=True)
class Env:
    """Who searches and the instance's groups: what functions resolve against."""

    current_user: str | None = None  # login name; None = anonymous
    groups: Mapping[str, Collection[str]] = field(default_factory=dict)  # name -> member names

    def members(self, group: str) -> Collection[str]:
        wanted = group.lower()
        for name, members in self.groups.items():
            if name.lower() == wanted:
                return members
        raise JqlError(
            f"Function 'membersOf' can not generate a list of usernames for group '{group}'; "
            "the group does not exist."
        )


class JqlSubject(Protocol):
    """What the evaluator needs from an issue."""

    def values(self, field: str) -> Sequence[frozenset[str]]:
        """One set of lower-cased identities (id, key, name...) per value the field holds."""

    def text(self, field: str) -> str:
        """Searchable text for `~`."""

    def timestamp(self, field: str) -> datetime | None:
        """Date fields."""

    def changes(self, field: str) -> Sequence[Change]:
        """The field's changes, oldest first (history operators)."""

    def creator(self) -> frozenset[str]:
        """Identities of who created the issue (set the initial values)."""


def evaluate(
    expr: Expr | None,
    subject: JqlSubject,
    now: Callable[[], datetime],
    env: Env | None = None,
) -> bool:
    if expr is None:
        return True
    env = env or Env()
    if isinstance(expr, And):
        return all(evaluate(e, subject, now, env) for e in expr.items)
    if isinstance(expr, Or):
        return any(evaluate(e, subject, now, env) for e in expr.items)
    if isinstance(expr, Not):
        return not evaluate(expr.item, subject, now, env)
    if expr.op in HISTORY_OPS:
        return _history(expr, subject, now, env)
    return _clause(expr, subject, now, env)


def _identities(values: Sequence[Value], env: Env) -> tuple[set[str], bool]:
    """Lower-cased wanted identities (user functions resolved) and whether EMPTY is wanted."""
    wanted: set[str] = set()
    wants_empty = False
    for value in values:
        if value is None:
            wants_empty = True
        elif isinstance(value, Func):
            if value.name == "currentUser":
                if env.current_user is not None:  # anonymous: matches nobody
                    wanted.add(env.current_user.lower())
            elif value.name == "membersOf":
                wanted.update(m.lower() for m in env.members(value.args[0]))
        else:
            wanted.add(value.lower())
    return wanted, wants_empty


def _instant(value: Value, now: datetime) -> tuple[datetime, bool]:
    """A date value and whether it is exact (functions) or minute-precise (literals)."""
    if isinstance(value, Func):
        return date_function(value, now), True
    if value is None:
        raise JqlError("EMPTY is not a date.")
    return parse_date(value, now), False


def _clause(c: Clause, subject: JqlSubject, now: Callable[[], datetime], env: Env) -> bool:
    if c.field in DATE_FIELDS and c.op in ("<", "<=", ">", ">=", "=", "!="):
        stamp = subject.timestamp(c.field)
        value = c.values[0]
        if value is None:
            return (stamp is None) == (c.op == "=")
        if stamp is None:
            return False
        right, exact = _instant(value, now())
        left = stamp
        if not exact:  # Jira compares date literals at minute precision.
            left = stamp.replace(second=0, microsecond=0)
            right = right.replace(second=0, microsecond=0)
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
        raw = c.values[0]
        words = [w.strip("*") for w in (raw if isinstance(raw, str) else "").lower().split()]
        found = all(w in haystack for w in words if w)
        return found if c.op == "~" else not found
    held = subject.values(c.field)
    wanted, wants_empty = _identities(c.values, env)
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


def _spans(field_name: str, subject: JqlSubject) -> list[_Span]:
    """The values the field held, from creation to now, each with who set it."""
    changes = list(subject.changes(field_name))
    current = subject.values(field_name)
    first = changes[0].from_value if changes else (current[0] if current else frozenset())
    created = subject.timestamp("created") or datetime.min.replace(tzinfo=UTC)
    spans: list[_Span] = []
    start, value, by = created, first, subject.creator()
    for change in changes:
        spans.append(_Span(value, start, change.at, by))
        start, value, by = change.at, change.to_value, change.by
    spans.append(_Span(value, start, None, by))
    return spans


def _day(value: datetime) -> tuple[datetime, datetime]:
    start = value.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def _history(c: Clause, subject: JqlSubject, now: Callable[[], datetime], env: Env) -> bool:
    moment = now()

    def instants(p: Predicate) -> list[datetime]:
        return [_instant(v, moment)[0] for v in p.values]

    def users(p: Predicate) -> set[str]:
        return _identities(p.values, env)[0]

    if c.op == "changed":
        for change in subject.changes(c.field):
            ok = True
            for p in c.predicates:
                if p.kind in ("from", "to"):
                    wanted, wants_empty = _identities(p.values, env)
                    held = change.from_value if p.kind == "from" else change.to_value
                    ok = bool(held & wanted) or (wants_empty and not held)
                elif p.kind == "by":
                    ok = bool(change.by & users(p))
                elif p.kind == "after":
                    ok = change.at > instants(p)[0]
                elif p.kind == "before":
                    ok = change.at < instants(p)[0]
                elif p.kind == "on":
                    low, high = _day(instants(p)[0])
                    ok = low <= change.at < high
                else:  # during
                    low, high = instants(p)
                    ok = low <= change.at <= high
                if not ok:
                    break
            if ok:
                return True
        return False

    wanted, wants_empty = _identities(c.values, env)
    hit = False
    for span in _spans(c.field, subject):
        if not (span.value & wanted or (wants_empty and not span.value)):
            continue
        ok = True
        for p in c.predicates:
            if p.kind == "by":
                ok = bool(span.by & users(p))
            elif p.kind == "after":
                ok = span.end is None or span.end > instants(p)[0]
            elif p.kind == "before":
                ok = span.start < instants(p)[0]
            elif p.kind == "on":
                low, high = _day(instants(p)[0])
                ok = span.start < high and (span.end is None or span.end > low)
            else:  # during
                low, high = instants(p)
                ok = span.start <= high and (span.end is None or span.end >= low)
            if not ok:
                break
        if ok:
            hit = True
            break
    return hit if c.op in ("was", "was in") else not hit
