"""JQL parsing: the AST, quoting, Jira-like syntax errors, and the query we ask Jira."""

from __future__ import annotations

import pytest
from pdjira_rules.jql import (
    And,
    Clause,
    Empty,
    Field,
    FunctionCall,
    HistoryClause,
    JqlSyntaxError,
    ListOperand,
    Not,
    Or,
    SortKey,
    Value,
    jira_fallback_query,
    local_gaps,
    parse,
)


def shape(node: object) -> object:
    """The AST without positions, for readable assertions."""
    if isinstance(node, Clause):
        return (node.field.name, node.op, node.operand)
    if isinstance(node, And):
        return ("AND", *[shape(c) for c in node.children])
    if isinstance(node, Or):
        return ("OR", *[shape(c) for c in node.children])
    if isinstance(node, Not):
        return ("NOT", shape(node.child))
    return node


def v(text: str, quoted: bool = False) -> Value:
    return Value(text, quoted)


def test_and_binds_tighter_than_or() -> None:
    assert shape(parse("a = 1 OR b = 2 AND c = 3").where) == (
        "OR",
        ("a", "=", v("1")),
        ("AND", ("b", "=", v("2")), ("c", "=", v("3"))),
    )


def test_parentheses_override_precedence() -> None:
    assert shape(parse("(a = 1 OR b = 2) AND c = 3").where) == (
        "AND",
        ("OR", ("a", "=", v("1")), ("b", "=", v("2"))),
        ("c", "=", v("3")),
    )


def test_not_binds_to_the_next_clause_only() -> None:
    assert shape(parse("NOT a = 1 AND b = 2").where) == (
        "AND",
        ("NOT", ("a", "=", v("1"))),
        ("b", "=", v("2")),
    )


def test_keywords_are_case_insensitive() -> None:
    lower = parse("a = 1 and b not in (2) Or c is not Empty order by a")
    upper = parse("a = 1 AND b NOT IN (2) OR c IS NOT EMPTY ORDER BY a")
    assert (lower.where, lower.order_by) == (upper.where, upper.order_by)


@pytest.mark.parametrize(
    ("jql", "operand"),
    [
        ('a = "In Progress"', v("In Progress", True)),
        ("a = 'In Progress'", v("In Progress", True)),
        (r'a = "say \"hi\""', v('say "hi"', True)),
        (r"a = 'it\'s'", v("it's", True)),
        (r'a = "back\\slash"', v("back\\slash", True)),
        (r'a = "tab\there"', v("tab\there", True)),
        (r'a = "\u00e9t\u00e9"', v("été", True)),
        (r"a = In\ Progress", v("In Progress")),
        ('a = "AND"', v("AND", True)),
        ("a = PD-12", v("PD-12")),
        ("a = 2026-11-01", v("2026-11-01")),  # '/' is reserved: 2026/11/01 must be quoted
        ("a = -1d", v("-1d")),
        ("a = EMPTY", Empty()),
        ("a = null", Empty()),
        ("a = currentUser()", FunctionCall("currentUser", ())),
        ('a in membersOf("jira users")', FunctionCall("membersOf", ("jira users",))),
        ("a in (x, 'y z', EMPTY)", ListOperand((v("x"), v("y z", True), Empty()))),
        ("a=b", v("b")),
    ],
)
def test_operands(jql: str, operand: object) -> None:
    node = parse(jql).where
    assert isinstance(node, Clause)
    assert node.operand == operand


def test_fields() -> None:
    custom = parse("cf[10010] = x").where
    assert isinstance(custom, Clause)
    assert custom.field == Field("cf", custom_id="10010")
    named = parse('"Customer Tier" = Gold').where
    assert isinstance(named, Clause)
    assert named.field == Field("Customer Tier")
    prop = parse("issue.property[pagerduty].incidentId = P1").where
    assert isinstance(prop, Clause)
    assert prop.field.suffix == "[pagerduty].incidentId"


def test_history_clauses_parse() -> None:
    node = parse("status WAS NOT IN (Done, Closed) BEFORE -1d BY admin").where
    assert isinstance(node, HistoryClause)
    assert node.op == "was not in"
    assert [name for name, _ in node.predicates] == ["before", "by"]
    changed = parse("status CHANGED FROM 'To Do' TO Done").where
    assert isinstance(changed, HistoryClause)
    assert changed.operand is None


def test_order_by() -> None:
    query = parse("project = PD order by created DESC, cf[10010], priority asc")
    assert query.order_by == (
        SortKey(Field("created"), True),
        SortKey(Field("cf", custom_id="10010"), None),
        SortKey(Field("priority"), False),
    )
    assert query.where_text == "project = PD"


@pytest.mark.parametrize(
    ("jql", "message", "character"),
    [
        ("project = ", "Expecting either a value, list or function before the end", 11),
        ("project = PD AND", "Expecting a field name at the end of the query.", 17),
        ("(project = PD OR status = 3", "Expecting ')' before the end of the query.", 28),
        ("project = PD status = 3", "Expecting either 'OR' or 'AND' but got 'status'.", 14),
        ("project PD", "Expecting operator but got 'PD'. The valid operators are", 9),
        ("status = AND", "You must surround 'AND' in quotation marks", 10),
        ("status = = Done", "You must surround '=' in quotation marks", 10),
        ('summary ~ "open', "The quoted string 'open' has not been completed.", 11),
        (r'a = "bad \q"', "The escape sequence '\\q'", 10),
        ("labels in sev1", "Expecting '(' but got 'sev1'.", 11),
        ("status is Done", "Expecting 'EMPTY' or 'NULL' but got 'Done'.", 11),
        ("a in (1, 2", "Expecting ')' before the end of the query.", 11),
        ("a = 2026/11/01", "The character '/' is a reserved JQL character.", 9),
        ("labels = to", "You must surround 'to' in quotation marks", 10),
        ("status WAS IN Open", "Expecting '(' but got 'Open'.", 15),
        ("cf[abc] = 1", "Expecting a custom field id (a positive number) but got 'abc'.", 4),
        ("a in (1 2)", "Expecting ')' but got '2'.", 9),
        ("= x", "Expecting a field name but got '='.", 1),
        ("a = x)", "Expecting either 'OR' or 'AND' but got ')'.", 6),
        ("a = f(1, )", "Expecting a function argument but got ')'.", 10),
        ("a = {x}", "The character '{' is a reserved JQL character.", 5),
        ("a = 1 OR\n  b", "Expecting operator before the end of the query.", 4),
    ],
)
def test_syntax_errors_read_like_jira(jql: str, message: str, character: int) -> None:
    with pytest.raises(JqlSyntaxError) as err:
        parse(jql)
    assert message in str(err.value)
    assert str(err.value).startswith("Error in the JQL Query: ")
    assert err.value.character == character
    assert str(err.value).endswith(f"(line {err.value.line}, character {character})")


def test_error_line_numbers() -> None:
    with pytest.raises(JqlSyntaxError) as err:
        parse("project = PD\nAND status")
    assert (err.value.line, err.value.character, err.value.position) == (2, 11, 23)


def test_deep_nesting_is_a_syntax_error_not_a_recursion_error() -> None:
    with pytest.raises(JqlSyntaxError):
        parse("(" * 5000 + "a = 1" + ")" * 5000)
    with pytest.raises(JqlSyntaxError):
        parse("NOT " * 5000 + "a = 1")


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("issuetype=Bug", 'key = "PD-1" AND (issuetype=Bug)'),
        ("a = 1 OR b = 2", 'key = "PD-1" AND (a = 1 OR b = 2)'),
        ("a = 1 OR b = 2 ORDER BY created DESC", 'key = "PD-1" AND (a = 1 OR b = 2)'),
        ("  a = 'x order by y'  order by a", "key = \"PD-1\" AND (a = 'x order by y')"),
        ("ORDER BY created", 'key = "PD-1"'),
        ("", 'key = "PD-1"'),
        ("  ", 'key = "PD-1"'),
        ("a = x\\  ", 'key = "PD-1" AND (a = x\\ )'),  # the escaped blank stays
        ("assignee = currentUser()", 'key = "PD-1" AND (assignee = currentUser())'),
    ],
)
def test_jira_fallback_query(jql: str, expected: str) -> None:
    assert jira_fallback_query("PD-1", jql) == expected


def test_fallback_refuses_jql_that_would_escape_the_parentheses() -> None:
    with pytest.raises(JqlSyntaxError):
        jira_fallback_query("PD-1", "a = 1) OR (b = 2")


def test_fallback_quotes_the_key() -> None:
    assert jira_fallback_query('X"-1', "a = 1") == 'key = "X\\"-1" AND (a = 1)'


def test_local_gaps_say_what_needs_jira() -> None:
    query = parse(
        "assignee = currentUser() AND status WAS Done AND cf[1] = x AND Tier = y AND votes > 1"
    )
    assert local_gaps(query, {"Tier": "customfield_2"}) == (
        "function currentUser()",
        "history operator WAS on 'status'",
        "custom field 'cf[1]' (its type decides '=')",
        "custom field 'Tier' (its type decides '=')",
        "unknown field 'votes'",
    )
    assert local_gaps(parse("summary ~ port AND cf[1] is EMPTY")) == (
        "text search on 'summary' (Jira's words and stems)",
    )
    assert local_gaps(parse("project = PD AND labels in (a, b)")) == ()
