"""JQL evaluated locally against a webhook issue: True, False or UNKNOWN (ask Jira)."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest
from pdjira_rules.jql import UNKNOWN, Truth, evaluate, parse

from .issues import FIELD_IDS, NOW, as_issue, issue, raw_issue

T, F, U = True, False, UNKNOWN

CASES: list[tuple[str, Truth]] = [
    # project: key, name, id, case-insensitive
    ("project = PD", T),
    ("project = pd", T),
    ("project = PagerDuty", T),
    ('project = "pagerduty"', T),
    ("project = 10000", T),
    ("project = HD", F),
    ("project != HD", T),
    ("project != PD", F),
    # issue type and its alias
    ("issuetype = Bug", T),
    ("type = bug", T),
    ("issuetype = 10004", T),
    ("issuetype = Story", F),
    ("ISSUETYPE IN (Story, Task)", F),
    # status / statusCategory
    ('status = "In Progress"', T),
    ("status = 'in progress'", T),
    ("status = 3", T),
    ("status = Done", F),
    ("statusCategory = indeterminate", T),
    ('statusCategory = "In Progress"', T),
    ("statusCategory = 4", T),
    ("statusCategory != Done", T),
    # priority
    ("priority = High", T),
    ("priority = 2", T),
    ("priority in (Highest, High)", T),
    ("priority not in (Highest, High)", F),
    ("priority not in (Low, Lowest)", T),
    # labels (multi-valued)
    ("labels = sev1", T),
    ("labels = database", T),
    ("labels = sev2", F),
    ("labels != sev2", T),
    ("labels != sev1", F),
    ("labels in (sev2, sev3)", F),
    ("labels in (sev2, SEV1)", T),
    ("labels not in (sev2, sev3)", T),
    ("labels is not empty", T),
    ("labels in (EMPTY, sev9)", F),
    # users
    ("assignee = jsmith", T),
    ("assignee = JIRAUSER10001", T),
    ('assignee = "John Smith"', T),
    ('assignee = "john@example.com"', T),  # '@' is reserved in JQL: the address is quoted
    ("assignee = bob", F),
    ("assignee is not EMPTY", T),
    ("reporter = admin", T),
    ("reporter != admin", F),
    # components
    ("component = Backend", T),
    ("component in (Frontend, api)", T),
    ("component = 10201", T),
    ("component not in (Backend)", F),
    # resolution (empty)
    ("resolution is EMPTY", T),
    ("resolution = EMPTY", T),
    ("resolution IS NULL", T),
    ("resolution = Unresolved", T),
    ('resolution = "Unresolved"', T),
    ("resolution != Unresolved", F),
    ("resolution = Done", F),
    ("resolution != Done", F),  # != never matches an empty field, as in Jira
    ("resolution not in (Done)", F),
    ("resolution in (EMPTY, Done)", T),
    ("resolution is not empty", F),
    ("fixVersion is EMPTY", T),
    ("fixVersion = 1.0", F),
    # text search: Jira's analyzer (tokens, English stems) is not imitated, so Jira decides;
    # only "an empty field contains nothing" is local (see test_jql_semantics.py)
    ("summary ~ database", U),
    ('summary ~ "connection pool"', U),
    ("summary ~ missing", U),
    ("summary !~ missing", U),
    ("summary ~ 'exhaust*'", U),
    ("summary ~ '-checkout'", U),  # Lucene prohibit operator
    ("summary ~ 'pool OR cart'", U),
    ("summary ~ 'pool~'", U),  # fuzzy search
    ("description ~ runbook", U),
    ("environment ~ anything", F),
    ("environment !~ anything", U),
    ("summary = 'Database'", U),  # Jira refuses '=' on text fields
    ("summary is not empty", T),
    ("environment is empty", T),
    ("text ~ runbook", U),
    ("text ~ nowhere", U),  # comments are not in the payload
    # key
    ("key = PD-12", T),
    ("issuekey = pd-12", T),
    ("key = 10100", T),
    ("key in (PD-1, PD-12)", T),
    ("key != PD-12", F),
    ("key > PD-10", T),
    ("key < PD-10", F),
    ("key >= PD-12", T),
    ("key > HD-1", F),
    # dates: absolute and relative
    ('created > "2026-11-19"', T),
    ('created < "2026/11/21"', T),
    ("created > 2026-11-21", F),
    ('created >= "2026-11-20 10:00"', T),
    ('created > "2026/11/20 10:00"', F),
    ('created = "2026-11-20 10:00"', T),
    ('created < "2026-11-20 09:59"', F),
    ("created > -7d", T),
    ("created > -5d", F),
    ("created >= -1w", T),
    ("updated > -3h", T),
    ("updated > -2h", F),
    ("updated > '-2h 31m'", T),
    ("updated > -151m", T),
    ("updated > -150m", F),  # exactly 150 minutes ago is not after
    ("created < -1w2d", F),
    ("due < 2026-12-02", T),
    ("due > 2026-12-02", F),
    ("resolved > -1d", F),
    ("created > someday", U),  # Jira would refuse the value: let it say so
    ("created > startOfDay()", U),
    ("created > now()", U),
    # custom fields: their type (which Jira knows) decides =, <, IN; EMPTY is local
    ("cf[10010] = Gold", U),
    ("cf[10010] != Silver", U),
    ('"Customer Tier" = Gold', U),
    ("'customer tier' in (Silver, Bronze)", U),
    ("cf[10020] > 5", U),
    ('"Go Live" < 2026-11-02', U),
    ("Teams ~ pay", U),
    ("Region is EMPTY", T),
    ("Teams is not EMPTY", T),
    ("Region = EU", U),
    ("cf[10099] = x", U),  # not carried in the payload
    ('"Absent Field" is empty', U),
    # boolean structure: precedence, NOT, parentheses, Kleene logic
    ("project = HD OR project = PD AND status = Done", F),
    ("project = PD OR project = HD AND status = Done", T),
    ("(project = PD OR project = HD) AND status = Done", F),
    ("project = HD OR (project = PD AND status = 3)", T),
    ("NOT project = HD", T),
    ("not (project = PD and labels = sev1)", F),
    ("NOT NOT project = PD", T),
    ("! project = HD", T),
    ("project = PD && labels = sev1", T),
    ("project = HD || labels = sev1", T),
    ("project = PD AND NOT labels = sev1 OR priority = High", T),
    ("project = PD and status = done or labels = missing", F),
    # outside the subset -> UNKNOWN, unless the known part decides
    ("assignee = currentUser()", U),
    ("assignee in membersOf('jira-users')", U),
    ("assignee in (bob, currentUser())", U),
    ("assignee in (jsmith, currentUser())", T),
    ("assignee not in (jsmith, currentUser())", F),
    ("status WAS Done", U),
    ("status WAS NOT IN (Done, Closed) BEFORE -1d", U),
    ("status CHANGED FROM 'To Do' TO 'In Progress' AFTER -1w", U),
    ("project = HD AND status WAS Done", F),
    ("project = PD OR status WAS Done", T),
    ("project = PD AND status WAS Done", U),
    ("NOT status WAS Done", U),
    ("votes > 2", U),  # a field we do not read
    ("issue.property[pagerduty].incidentId = P1", U),
    ('"Unknown Name" = x', U),
    ("priority > Medium", U),  # needs Jira's priority order
    # ORDER BY is ignored for matching; empty query matches
    ("project = PD ORDER BY created DESC, priority ASC", T),
    ("ORDER BY created", T),
    ("", T),
]


@pytest.mark.parametrize(("jql", "expected"), CASES)
def test_evaluate(jql: str, expected: Truth) -> None:
    # The searching user's zone is UTC here (absolute dates are read in it).
    result = evaluate(parse(jql), issue(), now=NOW, field_ids=FIELD_IDS, tz=UTC)
    assert result is expected


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 60


def test_absolute_dates_are_read_in_the_given_zone() -> None:
    # created is 10:00 UTC; "10:30" read in UTC+1 is 09:30 UTC, read in UTC it is 10:30.
    query = parse('created > "2026-11-20 10:30"')
    assert evaluate(query, issue(), now=NOW, tz=timezone(timedelta(hours=1))) is True
    assert evaluate(query, issue(), now=NOW, tz=UTC) is False
    assert evaluate(query, issue(), now=NOW, tz=timezone(timedelta(hours=-1))) is False
    assert evaluate(query, issue(), now=NOW) is UNKNOWN  # the zone is not known


def test_unknown_is_not_silently_falsy() -> None:
    with pytest.raises(TypeError):
        bool(UNKNOWN)


def test_a_payload_without_the_field_is_unknown_not_empty() -> None:
    payload = raw_issue()
    del payload["fields"]["labels"]
    assert evaluate(parse("labels is EMPTY"), as_issue(payload), now=NOW) is UNKNOWN


@pytest.mark.parametrize(
    ("field", "jql"),
    [("description", "description ~ runbook"), ("customfield_10010", "cf[10010] = Gold")],
)
def test_a_field_cut_to_fit_the_event_is_for_jira(field: str, jql: str) -> None:
    payload = raw_issue()
    payload["fields"][field] = (
        "runbook " * 5000 if field == "description" else {"value": "Gold" * 300}
    )
    assert evaluate(parse(jql), as_issue(payload), now=NOW) is UNKNOWN


@pytest.mark.parametrize(
    "payload",
    [{}, {"fields": None}, {"key": 5, "fields": {"status": "Done", "labels": "x"}}, []],
)
def test_odd_payloads_do_not_raise(payload: object) -> None:
    query = parse("status = Done AND labels = x OR key = PD-1")
    result = evaluate(query, as_issue(payload), now=NOW)
    assert result in (True, False) or result is UNKNOWN
