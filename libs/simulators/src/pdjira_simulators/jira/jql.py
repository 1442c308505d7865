"""JQL for the Jira simulator: Jira's grammar (the shared parser, :mod:`pdjira_jql`), then
Jira's semantic checks and an evaluator over that syntax tree. Pure: no issue store, no I/O.

Fields: key, project, labels, status, statusCategory, issuetype, priority, resolution,
assignee, reporter, creator, summary, description, comment, text, created, updated,
resolutiondate, component, fixVersion, affectedVersion and custom fields (``cf[10100]`` or by
name, ``"Root Cause"``). Functions: ``currentUser()``, ``membersOf("group")`` (user fields),
``now()``, ``startOf|endOf Day|Week|Month|Year(["+/-n(yMwdhm)"])`` (date fields). History
operators ``WAS [NOT] [IN]`` and ``CHANGED`` (with ``AFTER``, ``BEFORE``, ``ON``, ``DURING``,
``BY``, and ``FROM`` / ``TO`` for ``CHANGED``) on status, assignee, priority, reporter and
resolution. Anything Jira would refuse is a :class:`JqlError` with Jira's wording, which the API
answers with 400.

Semantics as Atlassian documents them ("Advanced searching - operators reference"):
negative operators (``!=``, ``NOT IN``, ``!~``, and ``NOT``/``!`` in front of a clause, which
Jira turns into the negated operator) never match an issue whose field is empty; ``~`` matches
words with English stemming (:mod:`.jql_text`); ``resolution = Unresolved`` is ``resolution IS
EMPTY``; ``priority > Medium`` compares by the priority order and ``key > OPS-10`` by number
within the project; users are found by login name, key, e-mail or full name; dates are read in
the searching user's time zone.
"""

from __future__ import annotations

import calendar
import functools
import operator
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pdjira_jql
from pdjira_jql import (
    And,
    Clause,
    Empty,
    Field,
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
from pdjira_jql.summary import clauses as leaf_clauses

from pdjira_simulators.jira import jql_text

__all__ = [
    "DATE_FIELDS",
    "Change",
    "CustomField",
    "Env",
    "JqlError",
    "JqlSubject",
    "Plan",
    "date_function",
    "evaluate",
    "functions",
    "parse",
    "parse_date",
    "written",
]

# Canonical field id per accepted (lower-case) spelling.
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
    "component": "components",
    "fixversion": "fixVersions",
    "affectedversion": "versions",
}
TEXT_FIELDS = frozenset({"summary", "description", "text", "comment"})
DATE_FIELDS = frozenset({"created", "updated", "resolutiondate"})
USER_FIELDS = frozenset({"assignee", "reporter", "creator"})
UNSORTABLE = frozenset({"description", "comment", "text"})  # ORDER BY refuses them
ORDERED_FIELDS = frozenset({"priority", "key"})  # `<` `>`... besides dates
# Jira keeps change history searchable for these system fields (and fixVersion).
HISTORY_FIELDS = frozenset({"status", "assignee", "priority", "reporter", "resolution"})
RELATIONAL = frozenset({"<", "<=", ">", ">="})
# NOT in front of a clause is the clause with the negated operator (Jira's NOT: "NOT assignee
# = jdoe" is "assignee != jdoe", which does not match unassigned issues).
NEGATED = {
    "=": "!=",
    "!=": "=",
    "in": "not in",
    "not in": "in",
    "~": "!~",
    "!~": "~",
    "is": "is not",
    "is not": "is",
    "<": ">=",
    ">=": "<",
    ">": "<=",
    "<=": ">",
    "was": "was not",
    "was not": "was",
    "was in": "was not in",
    "was not in": "was in",
}

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
    """Jira refuses the query (syntax or meaning); the message is Jira's."""


@dataclass(frozen=True, slots=True)
class CustomField:
    """What JQL needs of a custom field: its id, name and whether it is a text field (Jira's
    free-text searcher: only ``~``, ``!~``, ``IS [NOT]``)."""

    id: str  # customfield_10100
    name: str
    text: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """A query Jira would run: the syntax tree and each written field's canonical id."""

    query: Query
    fields: Mapping[Field, str]

    @property
    def where(self) -> Node | None:
        return self.query.where


def written(f: Field) -> str:
    """The field as Jira names it in messages."""
    return f"cf[{f.custom_id}]" if f.custom_id is not None else f.name


def _unknown_field(f: Field) -> JqlError:
    return JqlError(
        f"Field '{written(f)}' does not exist or you do not have permission to view it."
    )


def canonical(f: Field, custom: Sequence[CustomField] | None) -> str:
    """The field's id; ``custom`` None: the catalog is not known yet (custom names kept)."""
    if f.properties or f.suffix:
        raise JqlError(
            f"Searching '{written(f)}' (entity properties) is not supported by the simulator."
        )
    if f.custom_id is not None:
        wanted = f"customfield_{f.custom_id}"
        if custom is not None and all(c.id != wanted for c in custom):
            raise _unknown_field(f)
        return wanted
    found = FIELD_ALIASES.get(f.name.lower())
    if found is not None:
        return found
    if custom is None:
        return f.name
    lower = f.name.lower()
    for c in custom:
        if lower in (c.name.lower(), c.id.lower()):
            return c.id
    raise _unknown_field(f)


def parse(text: str, custom: Sequence[CustomField] | None = None) -> Plan:
    """Parse and check like Jira; raise :class:`JqlError` (Jira's message) if Jira refuses it.
    Without ``custom`` (the instance's custom fields) names that are not system fields are not
    checked."""
    return _parse(text, None if custom is None else tuple(custom))


@functools.lru_cache(maxsize=256)
def _parse(text: str, custom: tuple[CustomField, ...] | None) -> Plan:
    try:
        query = pdjira_jql.parse(text)
    except pdjira_jql.JqlSyntaxError as exc:
        raise JqlError(str(exc)) from None
    fields: dict[Field, str] = {}
    for clause in leaf_clauses(query.where):
        fields[clause.field] = canonical(clause.field, custom)
    for sort in query.order_by:
        fields[sort.field] = canonical(sort.field, custom)
        if fields[sort.field] in UNSORTABLE:
            raise JqlError(f"Field '{written(sort.field)}' does not support sorting.")
    text_custom = {c.id for c in custom or () if c.text}
    for clause in leaf_clauses(query.where):
        _check_operator(clause, fields[clause.field], text_custom, custom is None)
        _check_functions(clause, fields[clause.field])
    return Plan(query, fields)


def _check_operator(
    clause: Clause | HistoryClause, fid: str, text_custom: Collection[str], lenient: bool
) -> None:
    name = written(clause.field)
    if isinstance(clause, HistoryClause):
        if fid not in HISTORY_FIELDS:
            raise JqlError(f"History searches do not support the '{name}' field.")
        return
    if lenient and fid not in FIELD_ALIASES.values():
        return  # a custom field: its type is known once the catalog is
    is_text = fid in TEXT_FIELDS or fid in text_custom
    refused = (
        (fid == "text" and clause.op != "~")
        or (is_text and clause.op not in ("~", "!~", "is", "is not"))
        or (not is_text and clause.op in ("~", "!~"))
        or (clause.op in RELATIONAL and fid not in DATE_FIELDS | ORDERED_FIELDS)
    )
    if refused:
        raise JqlError(f"The operator '{clause.op}' is not supported by the '{name}' field.")


def _function_name(written_name: str) -> str:
    """The canonical name of a function (JQL function names are case-insensitive)."""
    lower = written_name.lower()
    for table in (_USER_FUNCTIONS, _DATE_FUNCTIONS):
        if lower in table:
            return table[lower][0]
    if lower in _UNSIMULATED:
        raise JqlError(
            f"The JQL function '{_UNSIMULATED[lower]}()' exists in Jira but is not supported by "
            "the simulator."
        )
    raise JqlError(f"Unable to find JQL function '{written_name}()'.")


def _arity(func: FunctionCall) -> None:
    name = _function_name(func.name)
    lower = name.lower()
    _, low, high = _USER_FUNCTIONS.get(lower) or _DATE_FUNCTIONS[lower]
    count = len(func.args)
    if low <= count <= high:
        return
    if low == high:
        raise JqlError(f"Function '{name}' expected '{low}' arguments but received '{count}'.")
    raise JqlError(
        f"Function '{name}' expected between '{low}' and '{high}' arguments but received '{count}'."
    )


def _invalid_for(func: FunctionCall, field_name: str) -> JqlError:
    return JqlError(
        f"A value provided by the function '{_function_name(func.name)}' is invalid for the "
        f"field '{field_name}'."
    )


def _calls(operand: Operand | None) -> Iterator[FunctionCall]:
    if isinstance(operand, FunctionCall):
        yield operand
    elif isinstance(operand, ListOperand):
        for item in operand.items:
            yield from _calls(item)


def functions(clause: Clause | HistoryClause) -> Iterator[FunctionCall]:
    """Every function call in a clause, its predicates included."""
    yield from _calls(clause.operand)
    if isinstance(clause, HistoryClause):
        for _, operand in clause.predicates:
            yield from _calls(operand)


def _is_user_function(func: FunctionCall) -> bool:
    return func.name.lower() in _USER_FUNCTIONS


def _check_functions(clause: Clause | HistoryClause, fid: str) -> None:
    """Arity, increments, and whether a function may stand where it is written."""
    name = written(clause.field)
    history = isinstance(clause, HistoryClause)
    for func in _calls(clause.operand):
        _arity(func)
        is_user = _is_user_function(func)
        fits = fid in (USER_FIELDS if is_user else DATE_FIELDS)
        if history or not fits:
            # Jira: `assignee WAS currentUser()` -> "A value provided by the function ..."
            raise _invalid_for(func, name)
        canonical_name = _function_name(func.name)
        if canonical_name in _LIST_FUNCTIONS and clause.op not in ("in", "not in"):
            raise JqlError(
                f"The operator '{clause.op}' does not support the list value "
                f"'{canonical_name}({', '.join(func.args)})' for field '{name}'."
            )
        if not is_user and func.args:
            _increment(func)
    if isinstance(clause, HistoryClause):
        for kind, operand in clause.predicates:
            for func in _calls(operand):
                _arity(func)
                is_user = _is_user_function(func)
                if kind == "by" and is_user:
                    continue
                if kind in ("after", "before", "on", "during") and not is_user:
                    if func.args:
                        _increment(func)
                    continue
                raise _invalid_for(func, name)
            if kind == "during" and not (
                isinstance(operand, ListOperand) and len(operand.items) == 2
            ):
                raise JqlError(
                    "The 'DURING' predicate needs exactly two dates, e.g. "
                    'DURING ("2024-01-01", "2024-01-31").'
                )


def values(operand: Operand | None) -> Iterator[str]:
    """The literal values of an operand (lists flattened), for checks against the data."""
    if isinstance(operand, Value):
        yield operand.text
    elif isinstance(operand, ListOperand):
        for item in operand.items:
            yield from values(item)


# ----------------------------------------------------------------------------- dates

_RELATIVE = re.compile(r"^([-+]?)(\d+)([wdhm])$")
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def parse_date(value: str, now: datetime) -> datetime:
    """Absolute (`yyyy-MM-dd[ HH:mm]`, `/` also; in ``now``'s time zone, the searching
    user's) or relative (`-5m`, `-2h`, `-1d`, `-1w`)."""
    rel = _RELATIVE.match(value.strip())
    if rel:
        sign = -1 if rel.group(1) == "-" else 1
        unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[rel.group(3)]
        return now + sign * timedelta(**{unit: int(rel.group(2))})
    return _absolute_date(value.strip(), now.tzinfo or UTC)


@functools.lru_cache(maxsize=1024)
def _absolute_date(value: str, zone: tzinfo) -> datetime:
    """A date literal (strptime is slow, and a search compares every issue with the same
    literal: cached)."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{value}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', "
        "'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


def _period(name: str) -> str:
    """ "day" for startOfDay / endOfDay, etc."""
    return name.lower().removeprefix("start").removeprefix("end").removeprefix("of")


def _increment(func: FunctionCall) -> tuple[int, str]:
    """`"-1d"`, `"+2w"`, `"1M"`; a bare number counts in the function's own period."""
    name = _function_name(func.name)
    period = _period(name)
    if not func.args:
        return 0, _PERIODS.get(period, "d")
    match = _INCREMENT.match(func.args[0].strip())
    if match is None:
        raise JqlError(
            f"Duration for function '{name}' should have the format (+/-)n(yMwdhm), "
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


def date_function(func: FunctionCall, now: datetime) -> datetime:
    """The instant a date function stands for; days start in ``now``'s time zone (the
    searching user's)."""
    name = _function_name(func.name)
    if name == "now":
        return now
    amount, unit = _increment(func)
    edge, period = ("end" if name.startswith("end") else "start"), _period(name)
    start = _start_of(period, now)
    if edge == "start":
        return _shift(start, amount, unit)
    if period in ("month", "year") and unit in ("M", "y"):
        # The end of the shifted period (end of last month is not "31 days before").
        return _next_start(period, _shift(start, amount, unit)) - timedelta(milliseconds=1)
    return _shift(_next_start(period, start) - timedelta(milliseconds=1), amount, unit)


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


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
    """Who searches and what the instance holds that values resolve against."""

    current_user: str | None = None  # login name; None = anonymous
    groups: Mapping[str, Collection[str]] = field(default_factory=dict)  # name -> member names
    time_zone: str = "UTC"  # the searching user's profile zone: dates are read in it
    # lower-case priority name or id -> rank in the priority scheme (higher = more urgent)
    priority_ranks: Mapping[str, int] = field(default_factory=dict)
    projects: Mapping[str, str] = field(default_factory=dict)  # lower-case project key -> id

    def members(self, group: str) -> Collection[str]:
        wanted = group.lower()
        for name, members in self.groups.items():
            if name.lower() == wanted:
                return members
        raise JqlError(
            f"Function 'membersOf' can not generate a list of usernames for group '{group}'; "
            "the group does not exist."
        )

    def rank(self, fid: str, value: str) -> tuple[str, int] | None:
        """Where a written value sits in the field's order (priority, key), or None."""
        if fid == "priority":
            found = self.priority_ranks.get(value.lower())
            return None if found is None else ("", found)
        project, _, number = value.rpartition("-")
        pid = self.projects.get(project.lower())
        if pid is None or not number.isdigit():
            return None
        return pid, int(number)


class JqlSubject(Protocol):
    """What the evaluator needs from an issue."""

    def values(self, field: str) -> Sequence[frozenset[str]]:
        """One set of lower-cased identities (id, key, name...) per value the field holds."""

    def text(self, field: str) -> str:
        """Searchable text for `~`."""

    def timestamp(self, field: str) -> datetime | None:
        """Date fields."""

    def rank(self, field: str) -> tuple[str, int] | None:
        """Where the issue's value sits in the field's order (priority, key)."""

    def changes(self, field: str) -> Sequence[Change]:
        """The field's changes, oldest first (history operators)."""

    def creator(self) -> frozenset[str]:
        """Identities of who created the issue (set the initial values)."""


@dataclass(frozen=True, slots=True)
class _Ctx:
    fields: Mapping[Field, str]
    subject: JqlSubject
    now: datetime  # in the searching user's zone
    env: Env


def evaluate(
    plan: Plan, subject: JqlSubject, now: Callable[[], datetime], env: Env | None = None
) -> bool:
    env = env or Env()
    if plan.where is None:
        return True
    moment = now().astimezone(zone(env.time_zone))
    return _eval(plan.where, _Ctx(plan.fields, subject, moment, env), False)


def _eval(node: Node, ctx: _Ctx, negated: bool) -> bool:
    if isinstance(node, Not):
        return _eval(node.child, ctx, not negated)
    if isinstance(node, (And, Or)):
        # De Morgan: NOT (a AND b) is (NOT a) OR (NOT b), each NOT a negated operator.
        every = isinstance(node, And) != negated
        results = (_eval(child, ctx, negated) for child in node.children)
        return all(results) if every else any(results)
    fid = ctx.fields[node.field]
    if isinstance(node, HistoryClause):
        if node.op == "changed":
            return _changed(node, fid, ctx) != negated
        return _history(node, NEGATED[node.op] if negated else node.op, fid, ctx)
    return _clause(node, NEGATED[node.op] if negated else node.op, fid, ctx)


def _identities(operand: Operand | None, fid: str, env: Env) -> tuple[set[str], bool]:
    """Lower-cased wanted identities (user functions resolved) and whether EMPTY is wanted."""
    wanted: set[str] = set()
    wants_empty = False
    items: Sequence[Operand] = operand.items if isinstance(operand, ListOperand) else ()
    for value in items or ((operand,) if operand is not None else ()):
        if isinstance(value, ListOperand):
            more, empty = _identities(value, fid, env)
            wanted |= more
            wants_empty |= empty
        elif isinstance(value, Empty):
            wants_empty = True
        elif isinstance(value, FunctionCall):
            name = _function_name(value.name)
            if name == "currentUser":
                if env.current_user is not None:  # anonymous: matches nobody
                    wanted.add(env.current_user.lower())
            elif name == "membersOf":
                wanted.update(m.lower() for m in env.members(value.args[0]))
        elif fid == "resolution" and value.text.lower() == "unresolved":
            wants_empty = True  # Jira: "resolution = Unresolved" is "resolution IS EMPTY"
        else:
            wanted.add(value.text.lower())
    return wanted, wants_empty


def _instant(value: Operand, now: datetime) -> tuple[datetime, bool]:
    """A date value and whether it is exact (functions) or minute-precise (literals)."""
    if isinstance(value, FunctionCall):
        return date_function(value, now), True
    if isinstance(value, Value):
        return parse_date(value.text, now), False
    raise JqlError("EMPTY is not a date.")


def _compare(op: str, left: datetime | tuple[str, int], right: datetime | tuple[str, int]) -> bool:
    if op in ("=", "in"):
        return left == right
    if op in ("!=", "not in"):
        return left != right
    if isinstance(left, datetime) and isinstance(right, datetime):
        return _ORDER[op](left, right)
    if isinstance(left, tuple) and isinstance(right, tuple):
        return _ORDER[op](left, right)
    return False


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _dates(c: Clause, op: str, fid: str, ctx: _Ctx) -> bool:
    stamp = ctx.subject.timestamp(fid)
    items = c.operand.items if isinstance(c.operand, ListOperand) else (c.operand,)
    if op in ("is", "is not") or isinstance(c.operand, Empty):
        return (stamp is None) == (op in ("is", "=", "in"))
    if stamp is None:  # an empty date matches no comparison, negative ones included
        return False
    hits = []
    for item in items:
        if isinstance(item, Empty):
            continue
        right, exact = _instant(item, ctx.now)
        left = stamp
        if not exact:  # Jira compares date literals at minute precision.
            left = stamp.replace(second=0, microsecond=0)
            right = right.replace(second=0, microsecond=0)
        hits.append(_compare("=" if op in ("in", "not in") else op, left, right))
    return all(not h for h in hits) if op == "not in" else any(hits)


def _clause(c: Clause, op: str, fid: str, ctx: _Ctx) -> bool:
    subject = ctx.subject
    if fid in DATE_FIELDS:
        return _dates(c, op, fid, ctx)
    if op in ("~", "!~") and not isinstance(c.operand, Empty):
        text = subject.text(fid)
        if not text.strip():
            return False  # Jira: neither ~ nor !~ matches an empty field
        assert isinstance(c.operand, Value)
        return jql_text.contains(text, c.operand.text) == (op == "~")
    if fid in TEXT_FIELDS or op in ("~", "!~"):  # IS [NOT] EMPTY, ~ EMPTY on text
        present = bool(subject.text(fid).strip())
        return present == (op in ("is not", "!~", "!="))
    if op in RELATIONAL:
        mine = subject.rank(fid)
        assert isinstance(c.operand, Value)
        other = ctx.env.rank(fid, c.operand.text)
        if mine is None or other is None or mine[0] != other[0]:
            return False
        return _compare(op, mine, other)
    held = subject.values(fid)
    wanted, wants_empty = _identities(c.operand, fid, ctx.env)
    hit = any(identities & wanted for identities in held) or (wants_empty and not held)
    if op in ("=", "in"):
        return hit
    if op in ("!=", "not in"):
        if wants_empty and not wanted:
            return bool(held)  # != EMPTY
        return bool(held) and not hit
    if op == "is":
        return not held
    return bool(held)  # is not


def _spans(fid: str, subject: JqlSubject) -> list[_Span]:
    """The values the field held, from creation to now, each with who set it."""
    changes = list(subject.changes(fid))
    current = subject.values(fid)
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


def _instants(operand: Operand, now: datetime) -> list[datetime]:
    items = operand.items if isinstance(operand, ListOperand) else (operand,)
    return [_instant(v, now)[0] for v in items]


def _changed(c: HistoryClause, fid: str, ctx: _Ctx) -> bool:
    env, now = ctx.env, ctx.now
    for change in ctx.subject.changes(fid):
        ok = True
        for kind, operand in c.predicates:
            if kind in ("from", "to"):
                wanted, wants_empty = _identities(operand, fid, env)
                held = change.from_value if kind == "from" else change.to_value
                ok = bool(held & wanted) or (wants_empty and not held)
            elif kind == "by":
                ok = bool(change.by & _identities(operand, "by", env)[0])
            elif kind == "after":
                ok = change.at > _instants(operand, now)[0]
            elif kind == "before":
                ok = change.at < _instants(operand, now)[0]
            elif kind == "on":
                low, high = _day(_instants(operand, now)[0])
                ok = low <= change.at < high
            else:  # during
                low, high = _instants(operand, now)
                ok = low <= change.at <= high
            if not ok:
                break
        if ok:
            return True
    return False


def _history(c: HistoryClause, op: str, fid: str, ctx: _Ctx) -> bool:
    env, now = ctx.env, ctx.now
    wanted, wants_empty = _identities(c.operand, fid, env)
    hit = False
    for span in _spans(fid, ctx.subject):
        if not (span.value & wanted or (wants_empty and not span.value)):
            continue
        ok = True
        for kind, operand in c.predicates:
            if kind == "by":
                ok = bool(span.by & _identities(operand, "by", env)[0])
            elif kind == "after":
                ok = span.end is None or span.end > _instants(operand, now)[0]
            elif kind == "before":
                ok = span.start < _instants(operand, now)[0]
            elif kind == "on":
                low, high = _day(_instants(operand, now)[0])
                ok = span.start < high and (span.end is None or span.end > low)
            else:  # during
                low, high = _instants(operand, now)
                ok = span.start <= high and (span.end is None or span.end >= low)
            if not ok:
                break
        if ok:
            hit = True
            break
    return hit if op in ("was", "was in") else not hit
