"""JQL subset: parser and evaluator are pure, so they are tested without a server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from pdjira_simulators.jira.jql import And, Clause, JqlError, Not, Or, evaluate, parse

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


def test_precedence_and_parentheses() -> None:
    query = parse("project = OPS AND (labels = a OR labels = b) AND NOT status = Done")
    assert query.where == And(
        (
            Clause("project", "=", ("OPS",)),
            Or((Clause("labels", "=", ("a",)), Clause("labels", "=", ("b",)))),
            Not(Clause("status", "=", ("Done",))),
        )
    )
    # AND binds tighter than OR.
    assert parse("key = 1 OR project = 2 AND status = 3").where == Or(
        (
            Clause("key", "=", ("1",)),
            And((Clause("project", "=", ("2",)), Clause("status", "=", ("3",)))),
        )
    )


def test_quoted_values_lists_and_order_by() -> None:
    query = parse("status in (\"To Do\", 'In Progress') order by updated desc, key")
    assert query.where == Clause("status", "in", ("To Do", "In Progress"))
    assert [(s.field, s.ascending) for s in query.order_by] == [("updated", False), ("key", True)]
    assert parse("issuekey = OPS-1").where == Clause("key", "=", ("OPS-1",))
    assert parse("cf[10100] ~ disk").where == Clause("customfield_10100", "~", ("disk",))
    assert parse("").where is None


@pytest.mark.parametrize(
    "text",
    [
        "project = ",
        "project OPS",
        "(project = OPS",
        "project = OPS AND",
        "nosuchfield = 1",
        "assignee = currentUser()",
        "status WAS Done",
        "summary = x",
        "labels > a",
        "project = OPS ORDER key",
    ],
)
def test_unsupported_or_invalid_jql_is_an_error(text: str) -> None:
    with pytest.raises(JqlError):
        parse(text)


def test_negative_operators_skip_empty_fields() -> None:
    labelled, bare = Subject(labels=["a", "b"]), Subject()

    def run(text: str, subject: Subject) -> bool:
        return evaluate(parse(text).where, subject, lambda: NOW)

    assert run("labels = a", labelled)
    assert not run("labels != a", labelled)
    assert run("labels != c", labelled)
    assert not run("labels != c", bare)
    assert not run("labels not in (c)", bare)
    assert run("labels is EMPTY", bare)
    assert run("labels is not empty", labelled)
    assert run("labels in (x, b)", labelled)
    assert run("NOT labels = a", bare)


def test_text_and_dates() -> None:
    subject = Subject()

    def run(text: str) -> bool:
        return evaluate(parse(text).where, subject, lambda: NOW)

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
