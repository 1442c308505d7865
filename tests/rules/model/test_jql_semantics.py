"""The local JQL evaluator decides only what Jira decides the same way; everything else is
UNKNOWN (asked of Jira) or, for a query Jira refuses, refused in Jira's words.

Each row cites the Jira Server documentation it follows:

- OPS: Advanced searching - operators reference,
  https://confluence.atlassian.com/jirasoftwareserver/advanced-searching-operators-reference-939938745.html
- KEYWORDS: Advanced searching - keywords reference ("NOT"),
  https://confluence.atlassian.com/jirasoftwareserver/advanced-searching-keywords-reference-939938746.html
- TEXT: Search syntax for text fields ("Word stemming", "Stop words"),
  https://confluence.atlassian.com/jirasoftwareserver/search-syntax-for-text-fields-939938747.html
- FIELDS: Advanced searching - fields reference ("Created": "search results will be relative to
  your configured time zone"; custom fields: "Supported operators" depend on the field type),
  https://confluence.atlassian.com/jirasoftwareserver/advanced-searching-fields-reference-939938743.html
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pdjira_rules.jql import UNKNOWN, Truth, clause_plan, evaluate, parse
from pdjira_rules.jql.operators import unsupported_operators
from pdjira_rules.rule_model import decode_pd_rule
from pdjira_rules.rule_validation import JiraCatalog, validate_rule

from .examples import catalogs_from, example_rules
from .issues import FIELD_IDS, NOW, as_issue, raw_issue

T, F, U = True, False, UNKNOWN
BERLIN = ZoneInfo("Europe/Berlin")  # UTC+1 in November


def _issue(**fields: Any) -> Any:
    payload = raw_issue()
    payload["fields"].update(fields)
    return as_issue(payload)


UNASSIGNED = {"assignee": None}
REPORTING = {"summary": "Weekly reporting job failed"}
PORT_SCAN = {"summary": "Port scan from 10.0.0.7"}
# created 2026-11-20T23:30Z: the 20th in UTC, already the 21st in Berlin.
LATE = {"created": "2026-11-20T23:30:00.000+0000"}

# (jql, issue fields, zone, expected)
CASES: list[tuple[str, dict[str, Any], tzinfo | None, Truth]] = [
    # NOT with empty fields. OPS "NOT EQUALS: !=": "field != value is the same as NOT field =
    # value" and "The operator won't match a field that has no value": Jira's NOT leaves the
    # unassigned issue out, so the plain negation (True) would be wrong -> Jira decides.
    ("NOT assignee = jdoe", UNASSIGNED, UTC, U),
    ("assignee != jdoe", UNASSIGNED, UTC, F),  # OPS "!=": never matches an empty field
    ("NOT (assignee = jdoe AND project = PD)", UNASSIGNED, UTC, U),
    # KEYWORDS "NOT": with a value in every field named, NOT is the plain negation.
    ("NOT assignee = jdoe", {}, UTC, T),
    ("NOT assignee = jsmith", {}, UTC, F),
    ("NOT assignee = jsmith", UNASSIGNED, UTC, U),
    ("NOT assignee is EMPTY", UNASSIGNED, UTC, F),  # OPS "IS NOT": the negation of IS EMPTY
    ("NOT status = Done", {}, UTC, T),
    # Text search. TEXT "Word stemming": Jira matches words by their English stem ("reports"
    # finds "reporting"), never substrings ("port" does not find "reporting"): not imitated,
    # so every ~ / !~ on a value is Jira's call, and so is the text master field (it also
    # searches comments: FIELDS "Text").
    ("summary ~ port", REPORTING, UTC, U),
    ("summary ~ port", PORT_SCAN, UTC, U),
    ("summary ~ reports", REPORTING, UTC, U),
    ("summary !~ port", REPORTING, UTC, U),
    ("text ~ port", PORT_SCAN, UTC, U),
    ('description ~ "HTTP 500"', {}, UTC, U),
    # ... but an empty field holds no word: ~ cannot match it.
    ("environment ~ anything", {}, UTC, F),
    ("project = HD AND summary ~ port", PORT_SCAN, UTC, F),  # the known part decides
    # Fields whose type we do not know. FIELDS "Custom fields": the operators and what a value
    # means (option name or id, number, text) depend on the field type, which Jira knows.
    ("cf[10010] = Gold", {}, UTC, U),
    ('"Customer Tier" = Gold', {}, UTC, U),
    ("cf[10020] > 5", {}, UTC, U),
    ("Teams in (SRE)", {}, UTC, U),
    ("Region is EMPTY", {}, UTC, T),  # OPS "IS": EMPTY is EMPTY whatever the type
    ("votes > 2", {}, UTC, U),  # a field the evaluator does not read
    # Dates in the searching user's zone. FIELDS "Created": "the search results will be
    # relative to your configured time zone". An issue created 23:30 UTC on the 20th was
    # created on the 21st in Berlin.
    ('created >= "2026-11-21"', LATE, BERLIN, T),
    ('created >= "2026-11-21"', LATE, UTC, F),
    ('created >= "2026-11-21"', LATE, None, U),  # zone not known: Jira decides
    ('created < "2026/11/21 00:15"', LATE, BERLIN, F),
    ('created < "2026/11/21 00:15"', LATE, UTC, T),
    ("due <= 2026-12-01", {}, None, U),  # a date-only field: read in the zone too
    ("due <= 2026-12-01", {}, BERLIN, T),
    # OPS "Periods": a relative date is the same instant in every zone.
    ("created > -7d", {}, None, T),
    ("created > -5d", {}, None, F),
]


@pytest.mark.parametrize(("jql", "fields", "tz", "expected"), CASES)
def test_jira_semantics(
    jql: str, fields: dict[str, Any], tz: tzinfo | None, expected: Truth
) -> None:
    result = evaluate(parse(jql), _issue(**fields), now=NOW, field_ids=FIELD_IDS, tz=tz)
    assert result is expected


def test_the_now_of_relative_dates_is_an_instant() -> None:
    late = _issue(**LATE)
    now = datetime(2026, 11, 21, 0, 30, tzinfo=UTC)
    for tz in (None, UTC, BERLIN):
        assert evaluate(parse("created > -61m"), late, now=now, tz=tz) is True
        assert evaluate(parse("created > -59m"), late, now=now, tz=tz) is False


# OPS "EQUALS: =": "The operator can't be used with text fields"; Jira answers 400 "The
# operator '=' is not supported by the '<field>' field." (its words, field as written).
TEXT_TYPE = "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
REFUSED: list[tuple[str, list[str]]] = [
    (
        '"Impacted Service" = checkout',
        ["The operator '=' is not supported by the 'Impacted Service' field."],
    ),
    ("cf[10102] != checkout", ["The operator '!=' is not supported by the 'cf[10102]' field."]),
    ("summary = 'Port scan'", ["The operator '=' is not supported by the 'summary' field."]),
    (
        "project = PD AND summary in (a, b)",
        ["The operator 'in' is not supported by the 'summary' field."],
    ),
    ('"Impacted Service" ~ checkout', []),
    ('"Impacted Service" is EMPTY', []),
    ('"Customer Tier" = Gold', []),  # a select list: '=' is fine
]


@pytest.mark.parametrize(("jql", "expected"), REFUSED)
def test_operators_jira_refuses_on_text_fields(jql: str, expected: list[str]) -> None:
    fields = {"customfield_10102": "Impacted Service", "customfield_10010": "Customer Tier"}
    assert list(unsupported_operators(parse(jql), fields, ["customfield_10102"])) == expected


def test_a_rule_with_equals_on_a_text_custom_field_is_refused_at_validation() -> None:
    rule = example_rules()[0][1]
    jira, pd = catalogs_from(rule)
    rule["config"]["autocreate_incidents_config"][0]["jql"] = '"Impacted Service" = checkout'
    catalog = JiraCatalog(
        **{
            **{f: getattr(jira, f) for f in jira.__struct_fields__},
            "fields": {**jira.fields, "customfield_10102": "Impacted Service"},
            "text_fields": ("customfield_10102",),
        }
    )
    problems = [str(p) for p in validate_rule(decode_pd_rule(rule), catalog, pd)]
    assert problems == [
        "$.config.autocreate_incidents_config[0].jql: The operator '=' is not supported by the "
        "'Impacted Service' field."
    ]


def test_clause_plan_says_what_is_decided_here_and_what_jira_decides() -> None:
    query = parse(
        'project = PD AND summary ~ port AND NOT assignee = jdoe AND created > "2026-11-20" '
        "AND created > -1d AND cf[10010] = Gold AND status WAS Done"
    )
    plan = {p.clause: (p.local, p.why) for p in clause_plan(query)}
    assert plan["project = PD"] == (True, "decided here, as Jira does")
    assert plan["summary ~ port"][0] is False
    assert "stem" in plan["summary ~ port"][1]
    assert plan["assignee = jdoe"][0] is True
    assert "empty" in plan["assignee = jdoe"][1]
    assert plan['created > "2026-11-20"'][0] is False
    assert "time zone" in plan['created > "2026-11-20"'][1]
    assert plan["created > -1d"][0] is True
    assert plan["cf[10010] = Gold"][0] is False
    assert plan["status WAS ..."][0] is False
    with_zone = {p.clause: p.local for p in clause_plan(query, zone_known=True)}
    assert with_zone['created > "2026-11-20"'] is True
