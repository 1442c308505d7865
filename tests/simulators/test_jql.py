"""JQL subset: parser and evaluator are pure, so they are tested without a server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pdjira_jql
import pytest
from pdjira_simulators.jira.jql import (
    Change,
    Env,
    JqlError,
    date_function,
    evaluate,
    parse,
)

NOW = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


class Subject:
    def __init__(self, **values: Sequence[str]) -> None:
        self._values = {k: [frozenset({v.lower()}) for v in vs] for k, vs in values.items()}

    def values(self, field: str) -> Sequence[frozenset[str]]:
        return self._values.get(field, [])

    def text(self, field: str) -> str:
        return "Disk full on db-1"

    def timestamp(self, field: str) -> datetime | None:
        return NOW - timedelta(hours=2) if field == "updated" else None

    def rank(self, field: str) -> tuple[str, int] | None:
        return None

    def changes(self, field: str) -> Sequence[Change]:
        return []

    def creator(self) -> frozenset[str]:
        return frozenset()


def test_the_simulator_parses_with_the_shared_grammar() -> None:
    plan = parse("status in (\"To Do\", 'In Progress') order by updated desc, key")
    assert isinstance(plan.query, pdjira_jql.Query)
    assert plan.query == pdjira_jql.parse(
        "status in (\"To Do\", 'In Progress') order by updated desc, key"
    )
    assert [plan.fields[s.field] for s in plan.query.order_by] == ["updated", "key"]
    assert parse("issuekey = OPS-1").fields == {pdjira_jql.Field("issuekey"): "key"}
    assert parse("cf[10100] ~ disk").fields == {
        pdjira_jql.Field("cf", "10100"): "customfield_10100"
    }
    assert parse("").where is None


@pytest.mark.parametrize(
    "text",
    [
        "project = ",
        "project OPS",
        "(project = OPS",
        "project = OPS AND",
        "nosuchfield = 1",
        "assignee = currentUser(",
        "status WAS",
        "status CHANGED FROM",
        "summary = x",
        "labels > a",
        "project = OPS ORDER key",
    ],
)
def test_unsupported_or_invalid_jql_is_an_error(text: str) -> None:
    with pytest.raises(JqlError):
        parse(text, ())  # () : an instance without custom fields


def test_negative_operators_skip_empty_fields() -> None:
    labelled, bare = Subject(labels=["a", "b"]), Subject()

    def run(text: str, subject: Subject) -> bool:
        return evaluate(parse(text), subject, lambda: NOW)

    assert run("labels = a", labelled)
    assert not run("labels != a", labelled)
    assert run("labels != c", labelled)
    assert not run("labels != c", bare)
    assert not run("labels not in (c)", bare)
    assert run("labels is EMPTY", bare)
    assert run("labels is not empty", labelled)
    assert run("labels in (x, b)", labelled)
    # Jira: NOT in front of a clause is the negated operator ("NOT assignee = jdoe" is
    # "assignee != jdoe"), and negative operators never match an empty field (Atlassian,
    # "Advanced searching - keywords reference", NOT; "operators reference", !=).
    assert not run("NOT labels = a", bare)
    assert run("NOT labels = c", labelled)
    assert run("NOT labels IS EMPTY", labelled)
    assert not run("NOT (labels = c OR labels = a)", bare)


def test_text_and_dates() -> None:
    subject = Subject()

    def run(text: str) -> bool:
        return evaluate(parse(text), subject, lambda: NOW)

    assert run("summary ~ disk")
    assert run('text ~ "full db"')
    assert not run("summary ~ network")
    assert run("summary !~ network")
    assert run("updated >= -3h")
    assert not run("updated >= -1h")
    assert run('updated < "2025-01-10 11:00"')
    assert run('updated >= "2025/01/10"')
    with pytest.raises(JqlError):
        run('updated > "yesterday"')


# ----------------------------------------------------------------------------- functions

WEDNESDAY = datetime(2025, 1, 15, 10, 30, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("assignee = foo()", "Unable to find JQL function 'foo()'."),
        ("key in bogusFunctionName()", "Unable to find JQL function 'bogusFunctionName()'."),
        ("created > now(1)", "Function 'now' expected '0' arguments but received '1'."),
        (
            "assignee = currentUser(x)",
            "Function 'currentUser' expected '0' arguments but received '1'.",
        ),
        (
            "assignee in membersOf()",
            "Function 'membersOf' expected '1' arguments but received '0'.",
        ),
        (
            "created > startOfDay(-1d, x)",
            "Function 'startOfDay' expected between '0' and '1' arguments but received '2'.",
        ),
        (
            "created > startOfDay(yesterday)",
            "Duration for function 'startOfDay' should have the format (+/-)n(yMwdhm), "
            "e.g -1M for 1 month earlier.",
        ),
        (
            "assignee WAS currentUser()",
            "A value provided by the function 'currentUser' is invalid for the field 'assignee'.",
        ),
        (
            "status = currentUser()",
            "A value provided by the function 'currentUser' is invalid for the field 'status'.",
        ),
        (
            "assignee = now()",
            "A value provided by the function 'now' is invalid for the field 'assignee'.",
        ),
        (
            'assignee = membersOf("jira-administrators")',
            "The operator '=' does not support the list value "
            "'membersOf(jira-administrators)' for field 'assignee'.",
        ),
        (
            "key in issueHistory()",
            "The JQL function 'issueHistory()' exists in Jira but is not supported by the "
            "simulator.",
        ),
        ("labels WAS a", "History searches do not support the 'labels' field."),
        ("summary CHANGED", "History searches do not support the 'summary' field."),
        (
            "status CHANGED BY now()",
            "A value provided by the function 'now' is invalid for the field 'status'.",
        ),
    ],
)  # fmt: skip
def test_function_and_history_errors_read_like_jira(text: str, message: str) -> None:
    with pytest.raises(JqlError) as caught:
        parse(text, ())
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("function", "instant"),
    [
        ("now()", WEDNESDAY),
        ("startOfDay()", datetime(2025, 1, 15, tzinfo=UTC)),
        ('startOfDay("-1d")', datetime(2025, 1, 14, tzinfo=UTC)),
        ("startOfDay(-1)", datetime(2025, 1, 14, tzinfo=UTC)),  # bare number: the period
        ('startOfDay("+2h")', datetime(2025, 1, 15, 2, tzinfo=UTC)),
        ("STARTOFDAY()", datetime(2025, 1, 15, tzinfo=UTC)),  # names are case-insensitive
        ("endOfDay()", datetime(2025, 1, 15, 23, 59, 59, 999000, tzinfo=UTC)),
        ('endOfDay("+1d")', datetime(2025, 1, 16, 23, 59, 59, 999000, tzinfo=UTC)),
        ("startOfWeek()", datetime(2025, 1, 12, tzinfo=UTC)),  # Sunday, Jira's default
        ("endOfWeek()", datetime(2025, 1, 18, 23, 59, 59, 999000, tzinfo=UTC)),
        ("startOfMonth()", datetime(2025, 1, 1, tzinfo=UTC)),
        ('startOfMonth("-1M")', datetime(2024, 12, 1, tzinfo=UTC)),
        ('endOfMonth("-1M")', datetime(2024, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        ('endOfMonth("+1")', datetime(2025, 2, 28, 23, 59, 59, 999000, tzinfo=UTC)),
        ("startOfYear()", datetime(2025, 1, 1, tzinfo=UTC)),
        ("endOfYear(-1y)", datetime(2024, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
    ],
)
def test_date_functions(function: str, instant: datetime) -> None:
    clause = parse(f"created > {function}").where
    assert isinstance(clause, pdjira_jql.Clause)
    func = clause.operand
    assert isinstance(func, pdjira_jql.FunctionCall)
    assert date_function(func, WEDNESDAY) == instant


class Person:
    def __init__(self, name: str) -> None:
        self.ids = frozenset({name, f"key-{name}"})


ADMIN, JDOE, KIM = Person("admin"), Person("jdoe"), Person("kim")
T0 = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)


class HistorySubject:
    """Created by admin at T0 in "to do", unassigned; then the given changes."""

    def __init__(self, **history: Sequence[tuple[str | None, str | None, int, Person]]) -> None:
        self._changes = {
            field: [
                Change(
                    frozenset({old}) if old else frozenset(),
                    frozenset({new}) if new else frozenset(),
                    T0 + timedelta(hours=hours),
                    by.ids,
                )
                for old, new, hours, by in items
            ]
            for field, items in history.items()
        }
        self._current = {"status": "to do", "assignee": None, "priority": "medium"}
        for field, items in history.items():
            self._current[field] = items[-1][1]

    def values(self, field: str) -> Sequence[frozenset[str]]:
        value = self._current.get(field)
        if value is None:
            return []
        return [Person(value).ids] if field == "assignee" else [frozenset({value})]

    def text(self, field: str) -> str:
        return ""

    def timestamp(self, field: str) -> datetime | None:
        return T0 if field == "created" else None

    def rank(self, field: str) -> tuple[str, int] | None:
        return None

    def changes(self, field: str) -> Sequence[Change]:
        return self._changes.get(field, [])

    def creator(self) -> frozenset[str]:
        return ADMIN.ids


# To Do -(jdoe, +1h)-> In Progress -(kim, +25h)-> Done; assigned to jdoe by admin at +2h.
WORKED = HistorySubject(
    status=[("to do", "in progress", 1, JDOE), ("in progress", "done", 25, KIM)],
    assignee=[(None, "jdoe", 2, ADMIN)],
)
UNTOUCHED = HistorySubject()
ENV = Env(current_user="jdoe", groups={"oncall": ["jdoe"], "admins": ["admin"]})


@pytest.mark.parametrize(
    ("text", "worked", "untouched"),
    [
        # WAS: the current or any earlier value
        ('status WAS "In Progress"', True, False),
        ('status WAS "To Do"', True, True),
        ("status WAS Done", True, False),
        ('status WAS IN ("Review", "In Progress")', True, False),
        ('status WAS NOT "In Progress"', False, True),
        ('status WAS NOT IN ("Review", "Done")', False, True),
        ("assignee WAS EMPTY", True, True),
        ("assignee WAS jdoe", True, False),
        # WAS predicates
        ('status WAS "In Progress" BY jdoe', True, False),
        ('status WAS "In Progress" BY kim', False, False),
        ('status WAS "In Progress" BY currentUser()', True, False),
        ('status WAS "To Do" BY admin', True, True),  # the creator set the initial value
        ('status WAS "In Progress" BY (kim, jdoe)', True, False),
        ('status WAS "In Progress" BEFORE "2025-01-10 09:30"', False, False),
        ('status WAS "In Progress" BEFORE "2025-01-10 10:30"', True, False),
        ('status WAS "In Progress" AFTER "2025-01-11 09:30"', True, False),
        ('status WAS "In Progress" AFTER "2025-01-11 10:30"', False, False),
        ('status WAS "To Do" AFTER "2025-01-11"', False, True),
        ('status WAS "In Progress" ON "2025-01-11"', True, False),
        ('status WAS "In Progress" ON "2025-01-12"', False, False),
        ('status WAS "In Progress" DURING ("2025-01-11 10:30", "2025-01-12")', False, False),
        ('status WAS "In Progress" DURING ("2025-01-10 12:00", "2025-01-10 13:00")', True, False),
        ('status WAS Done AFTER startOfDay("-3d")', True, False),
        # CHANGED: any change, optionally FROM / TO / BY / dates
        ("status CHANGED", True, False),
        ("priority CHANGED", False, False),
        ('status CHANGED FROM "To Do"', True, False),
        ('status CHANGED FROM "To Do" TO "Done"', False, False),
        ('status CHANGED FROM "In Progress" TO "Done"', True, False),
        ("status CHANGED TO Done BY kim", True, False),
        ("status CHANGED TO Done BY jdoe", False, False),
        ("status CHANGED BY currentUser()", True, False),
        ('status CHANGED BY membersOf("admins")', False, False),
        ('status CHANGED AFTER "2025-01-11"', True, False),
        ('status CHANGED BEFORE "2025-01-10 09:30"', False, False),
        ('status CHANGED ON "2025-01-10"', True, False),
        ('status CHANGED DURING ("2025-01-10 09:30", "2025-01-10 10:30")', True, False),
        ("assignee CHANGED FROM EMPTY TO jdoe", True, False),
        ("NOT status CHANGED", False, True),
        # user functions on current values
        ("assignee = currentUser()", True, False),
        ("assignee != currentUser()", False, False),  # != never matches EMPTY
        ('assignee in membersOf("oncall")', True, False),
        ('assignee in membersOf("ONCALL")', True, False),  # group names ignore case
        ('assignee not in membersOf("admins")', True, False),
        ("assignee in (currentUser(), kim)", True, False),
    ],
)
def test_history_and_user_functions(text: str, worked: bool, untouched: bool) -> None:
    now = T0 + timedelta(days=3)

    def run(subject: HistorySubject) -> bool:
        return evaluate(parse(text), subject, lambda: now, ENV)

    assert (run(WORKED), run(UNTOUCHED)) == (worked, untouched)


def test_current_user_of_an_anonymous_search_matches_nobody() -> None:
    where = parse("assignee = currentUser()")
    assert not evaluate(where, WORKED, lambda: T0, Env())


def test_members_of_an_unknown_group_is_jira_s_error() -> None:
    with pytest.raises(JqlError) as caught:
        evaluate(parse('assignee in membersOf("nope")'), WORKED, lambda: T0, ENV)
    assert str(caught.value) == (
        "Function 'membersOf' can not generate a list of usernames for group 'nope'; "
        "the group does not exist."
    )


@pytest.mark.parametrize(
    ("text", "created_hours_ago", "expected"),
    [
        ("created > startOfDay()", 1, True),
        ("created > startOfDay()", 11, False),
        ('created > startOfDay("-1d")', 11, True),
        ("created < now()", 0.0001, True),  # exact, not minute precision
        ("created <= endOfDay()", 0, True),
        ("created > endOfDay(-1)", 10, True),
        ("created > startOfWeek()", 24 * 4, False),
        ("created >= startOfMonth()", 24 * 14, True),
        ("created < startOfYear()", 24 * 15, True),
    ],
)
def test_date_functions_compare_against_issue_dates(
    text: str, created_hours_ago: float, expected: bool
) -> None:
    class Created(HistorySubject):
        def timestamp(self, field: str) -> datetime | None:
            return WEDNESDAY - timedelta(hours=created_hours_ago) if field == "created" else None

    assert evaluate(parse(text), Created(), lambda: WEDNESDAY, ENV) is expected


@pytest.mark.parametrize(
    ("zone", "function", "instant"),
    [
        # [FN] startOfDay(): "the start of the current day" for the searching user, whose
        # day starts at midnight in their profile's time zone. 2025-01-15 10:30 UTC is
        # 2025-01-16 00:30 in Kiritimati (UTC+14) and 2025-01-14 23:30 in Pago Pago (UTC-11).
        ("UTC", "startOfDay()", datetime(2025, 1, 15, tzinfo=UTC)),
        ("Pacific/Kiritimati", "startOfDay()", datetime(2025, 1, 15, 10, tzinfo=UTC)),
        ("Pacific/Pago_Pago", "startOfDay()", datetime(2025, 1, 14, 11, tzinfo=UTC)),
        ("Pacific/Kiritimati", "startOfMonth()", datetime(2024, 12, 31, 10, tzinfo=UTC)),
    ],
)
def test_date_functions_in_the_searching_user_s_zone(
    zone: str, function: str, instant: datetime
) -> None:
    clause = parse(f"created > {function}").where
    assert isinstance(clause, pdjira_jql.Clause)
    assert isinstance(clause.operand, pdjira_jql.FunctionCall)
    assert date_function(clause.operand, WEDNESDAY.astimezone(ZoneInfo(zone))) == instant


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("text !~ disk", "The operator '!~' is not supported by the 'text' field."),
        ("ORDER BY description", "Field 'description' does not support sorting."),
        ("summary in (a, b)", "The operator 'in' is not supported by the 'summary' field."),
    ],
)
def test_jira_refuses(text: str, message: str) -> None:
    with pytest.raises(JqlError) as caught:
        parse(text, ())
    assert str(caught.value) == message
