"""Property tests: evaluation never raises on odd payloads; parsing raises only JqlSyntaxError."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pdjira_rules.jql import (
    UNKNOWN,
    And,
    Clause,
    JqlSyntaxError,
    evaluate,
    jira_fallback_query,
    parse,
)

from .issues import as_issue

QUERIES = [
    "project = PD AND issuetype in (Bug, Task)",
    "status = 'In Progress' OR statusCategory = Done",
    "priority not in (Low, Lowest) AND labels = sev1",
    "assignee = jsmith OR reporter is EMPTY OR assignee != bob",
    "component in (EMPTY, API) AND resolution = Unresolved",
    "summary ~ 'pool*' AND description !~ foo OR text ~ bar",
    "created > -1w AND updated <= '2026/11/01 10:00' AND due < 2026-12-01",
    "resolved >= -2h OR created = 2026-11-20",
    "key in (PD-1, PD-2) OR key > PD-10 OR issuekey = 10100",
    'cf[10010] = Gold AND "Customer Tier" in (Silver) OR cf[10020] > 3',
    "cf[10020] < 2026-01-01 OR cf[10010] ~ gol OR cf[10010] is not empty",
    "NOT (project = PD AND (labels = a OR labels != b))",
    "assignee = currentUser() AND status WAS Done OR status CHANGED",
    "fixVersion = 1.0 OR affectedVersion in (2.0) OR parent = PD-1 OR environment ~ x",
    "creator = admin AND type = Bug ORDER BY created DESC",
]
PARSED = [parse(q) for q in QUERIES]
FIELD_IDS = {"Customer Tier": "customfield_10010"}
NOW = datetime(2026, 11, 26, tzinfo=UTC)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["2026-11-20T10:00:00.000+0000", "2026-11-20", "PD-7", "-1d", "1e400"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["name", "id", "key", "value", "displayName", "statusCategory"]),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)
FIELD_NAMES = [
    "project", "issuetype", "status", "priority", "labels", "components", "assignee",
    "reporter", "creator", "resolution", "summary", "description", "environment", "created",
    "updated", "resolutiondate", "duedate", "fixVersions", "versions", "parent",
    "customfield_10010", "customfield_10020",
]  # fmt: skip
issues = st.fixed_dictionaries(
    {},
    optional={
        "key": json_values,
        "id": json_values,
        "fields": st.one_of(
            json_values, st.dictionaries(st.sampled_from(FIELD_NAMES), json_values)
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(issue=issues)
def test_evaluate_never_raises(issue: dict[str, Any]) -> None:
    for query in PARSED:
        result = evaluate(query, as_issue(issue), now=NOW, field_ids=FIELD_IDS)
        assert result is True or result is False or result is UNKNOWN


JQL_WORDS = ["AND ", "OR ", "NOT ", " IN ", " IS ", "EMPTY", "ORDER BY ", "WAS ", "CHANGED"]
jql_alphabet = st.sampled_from([*"abcPD-1 =!~<>()[],\"'\\&|{}.*?/:\n\t", *JQL_WORDS, "cf[1]"])


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(max_size=60), st.lists(jql_alphabet, max_size=30).map("".join)))
def test_parse_raises_only_jql_syntax_errors(text: str) -> None:
    error: JqlSyntaxError | None = None
    try:
        query = parse(text)
    except JqlSyntaxError as err:
        error = err
    if error is not None:
        assert 0 <= error.position <= len(text)
        assert error.line >= 1
        assert error.character >= 1
        return
    # Whatever parses is evaluated without raising, and wrapped for Jira so that the user's
    # query stays one operand of the AND (no way out of the parentheses).
    evaluate(query, as_issue({"key": "PD-1", "fields": {}}), now=NOW)
    wrapped = parse(jira_fallback_query("PD-1", text)).where
    if query.where is None:
        assert isinstance(wrapped, Clause)
    else:
        assert isinstance(wrapped, And)
        assert wrapped.children[1:] == (query.where,)
