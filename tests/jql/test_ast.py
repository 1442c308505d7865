"""The tree an evaluator walks: fields, operators, operands, history predicates, ORDER BY."""

from __future__ import annotations

import pytest
from pdjira_jql import (
    And,
    Clause,
    Empty,
    Field,
    FieldProperty,
    FunctionCall,
    HistoryClause,
    JqlSyntaxError,
    ListOperand,
    Not,
    Or,
    SortKey,
    Value,
    describe,
    parse,
)


def test_history_clauses_keep_operator_operand_and_predicates_in_order() -> None:
    q = parse(
        "status WAS NOT IN (Open, 'In Progress') BY (jsmith, currentUser()) "
        'DURING ("2024/01/01", -1w) AND priority CHANGED FROM Low TO High AFTER startOfDay(-1)'
    )
    assert q.where == And(
        (
            HistoryClause(
                Field("status"),
                "was not in",
                ListOperand((Value("Open", False), Value("In Progress", True))),
                (
                    ("by", ListOperand((Value("jsmith", False), FunctionCall("currentUser", ())))),
                    ("during", ListOperand((Value("2024/01/01", True), Value("-1w", False)))),
                ),
            ),
            HistoryClause(
                Field("priority"),
                "changed",
                None,
                (
                    ("from", Value("Low", False)),
                    ("to", Value("High", False)),
                    ("after", FunctionCall("startOfDay", ("-1",))),
                ),
            ),
        )
    )


def test_fields_custom_ids_and_properties() -> None:
    q = parse('cf[10010] = 1 OR issue.property[support].level.x > 2 OR "Customer Tier" = Gold')
    assert isinstance(q.where, Or)
    a, b, c = q.where.children
    assert isinstance(a, Clause)
    assert isinstance(b, Clause)
    assert isinstance(c, Clause)
    assert a.field == Field("cf", custom_id="10010")
    assert isinstance(a.operand, Value)
    assert a.operand.number
    assert b.field == Field(
        "issue.property",
        suffix="[support].level.x",
        properties=(FieldProperty("support", (".level.x",)),),
    )
    assert c.field == Field("Customer Tier")


def test_not_bang_and_symbol_operators_build_the_same_tree() -> None:
    words = parse("NOT a = 1 AND b = 2 OR c = 3").where
    symbols = parse("!a = 1 && b = 2 || c = 3").where
    assert words == symbols
    assert isinstance(words, Or)
    assert isinstance(words.children[0], And)
    assert isinstance(words.children[0].children[0], Not)


def test_order_by_keys_and_where_text() -> None:
    q = parse("  project = OPS ORDER BY created DESC, cf[10010], priority asc ")
    assert q.order_by == (
        SortKey(Field("created"), True),
        SortKey(Field("cf", custom_id="10010"), None),
        SortKey(Field("priority"), False),
    )
    assert q.where_text == "project = OPS"
    assert parse("ORDER BY key").where is None


def test_escapes_are_decoded_and_escaped_keywords_are_values() -> None:
    q = parse(r'summary ~ "caf\u00e9 \"x\"" AND labels = \u0074o AND labels in (a\ b, EMPTY)')
    assert isinstance(q.where, And)
    texts = [c.operand for c in q.where.children if isinstance(c, Clause)]
    assert texts == [
        Value('café "x"', True),
        Value("to", False),
        ListOperand((Value("a b", False), Empty())),
    ]


@pytest.mark.parametrize(
    ("query", "message", "character"),
    [
        ("ORDER BY date", "'date' is a reserved JQL word.", 10),
        ("status = Open ORDER BY created x", "Expecting ',' or the end of the query", 32),
        ("assignee is jsmith", "Expecting 'EMPTY' or 'NULL' but got 'jsmith'.", 13),
        ("votes > EMPTY", "Use 'IS EMPTY' instead of '> EMPTY'.", 9),
        ("status = (a, b)", "The operator '=' does not take a list; use 'IN'", 10),
        ('a = "tab\there"', "illegal character '\\u0009'", 9),
        ("cf = 1", "Expecting '[' but got '='.", 4),
        ("f in membersOf(a,)", "Expecting a function argument but got ')'.", 18),
        ("status WAS Open FROM Closed", "Expecting either 'OR' or 'AND' but got 'FROM'.", 17),
    ],
)
def test_errors_say_what_and_where(query: str, message: str, character: int) -> None:
    with pytest.raises(JqlSyntaxError) as info:
        parse(query)
    assert message in str(info.value)
    assert info.value.character == character


def test_describe_gives_one_line_per_query() -> None:
    q = parse('status WAS "In Progress" BY jsmith AND labels in (a, "b c") ORDER BY key')
    assert describe(q) == (
        '2 clauses: status WAS "In Progress" BY jsmith; labels IN (a, "b c") | ORDER BY key'
    )
    assert describe(parse("")) == "0 clauses (matches every issue)"
