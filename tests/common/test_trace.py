"""The trace's timeline (pure): every step ordered by time, each with its time since its
chain began, the rule verdicts, each writer attempt's vendor calls and outcome, dead letters;
and the entities linked to the one asked about."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from pdjira_common.contracts import (
    AuditRecord,
    DeadLetter,
    IncidentEvent,
    IncidentRef,
    IssueEvent,
    IssueLinked,
    IssueRef,
    RuleVerdict,
    VendorCall,
    WriteRecord,
)
from pdjira_common.facts import IssueFields, JiraRef
from pdjira_common.trace import StoredEvent, Trace, assemble, format_trace, resolve_links

T0 = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)


def at(ms: int) -> str:
    return datetime.fromtimestamp(T0.timestamp() + ms / 1000, UTC).isoformat()


TRIGGERED = IncidentEvent(
    event_id="ev-1",
    correlation_id="ev-1",
    account="acme",
    incident_id="Q1",
    event_type="incident.triggered",
    occurred_at="2026-12-07T09:59:59Z",
    title="Disk full",
    html_url="https://acme.pagerduty.com/incidents/Q1",
)
CREATED = IssueEvent(
    event_id="ev-2",
    correlation_id="ev-2",
    instance="dc1",
    issue_id="10000",
    key="OPS-1",
    webhook_event="jira:issue_created",
    issue_event_type="issue_created",
    timestamp_ms=int(T0.timestamp() * 1000) + 900,
    fields=IssueFields(status=JiraRef(name="To Do")),
)
DECIDED = AuditRecord(
    correlation_id="ev-1",
    service="rules",
    event_id="ev-1",
    event_type="incident.triggered",
    entity="pd:acme:Q1",
    summary="1 command(s): CreateIssue",
    recorded_at=at(12),
    verdicts=(
        RuleVerdict(rule="ops", matched=True, reason="event incident.trigger: yes", item="a[0]"),
        RuleVerdict(rule="typo", matched=False, reason="refused at load: status 'Doen'"),
    ),
    command_ids=("create:acme:Q1",),
)


def write(attempt: int, start: int, end: int, outcome: str, status: int) -> WriteRecord:
    return WriteRecord(
        correlation_id="ev-1",
        service="jira-writer",
        command_id="create:acme:Q1",
        command="CreateIssue",
        target="jira:dc1",
        entity="pd:acme:Q1",
        attempt=attempt,
        started_at=at(start),
        recorded_at=at(end),
        outcome=outcome,
        detail="Jira answered 503" if outcome == "retry" else "issue OPS-1 (id 10000) created",
        calls=(
            VendorCall(
                method="POST",
                path="/rest/api/2/issue",
                status=status,
                latency_ms=85.5,
                at=at(start),
            ),
        ),
        delay=0.5 if outcome == "retry" else None,
    )


def trace() -> Trace:
    return assemble(
        "OPS-1",
        {"jira:dc1:10000", "pd:acme:Q1"},
        [StoredEvent(CREATED, T0.replace(microsecond=950_000)), StoredEvent(TRIGGERED, T0)],
        [write(2, 700, 800, "done", 201), DECIDED, write(1, 20, 120, "retry", 503)],
        [],
    )


def test_steps_follow_the_path_in_time_with_their_time_since_the_webhook() -> None:
    steps = trace().steps
    assert [(s.kind, s.correlation_id, s.since_start_ms) for s in steps] == [
        ("received", "ev-1", 0.0),
        ("decided", "ev-1", 12.0),
        ("write", "ev-1", 20.0),
        ("write", "ev-1", 700.0),
        ("received", "ev-2", 0.0),  # the issue's own webhook: a chain of its own
    ]
    received, decided, retry, done, created = steps
    assert received.title == "webhook received: incident.triggered"
    assert received.entity == "pd:acme:Q1"
    assert decided.details == (
        "+ ops / a[0]: event incident.trigger: yes",
        "- typo: refused at load: status 'Doen'",
        "commands: create:acme:Q1",
    )
    assert retry.title == "jira-writer CreateIssue create:acme:Q1 attempt 1: retry"
    assert retry.details == (
        "POST /rest/api/2/issue -> 503 in 85.5 ms",
        "retry (in 0.5 s): Jira answered 503",
    )
    assert done.latency_ms == 100.0
    assert done.details[0] == "POST /rest/api/2/issue -> 201 in 85.5 ms"
    assert created.details[0] == "issue OPS-1 (id 10000), status To Do"


def test_a_dead_letter_is_a_step_saying_how_to_replay_it() -> None:
    letter = DeadLetter(
        stream="COMMANDS",
        consumer="jira-writer",
        subject="commands.jira.3.dc1.Q1",
        reason="Jira refused create issue (400): field Team is required",
        attempts=1,
        correlation_id="ev-1",
        failed_at=at(130),
        data=b"{}",
    )
    steps = assemble("Q1", {"pd:acme:Q1"}, [StoredEvent(TRIGGERED, T0)], [], [letter]).steps
    assert steps[-1].kind == "dead-letter"
    assert steps[-1].since_start_ms == 130.0
    assert steps[-1].title == "dead-lettered by jira-writer after 1 attempt(s)"
    assert "pdjira dlq replay" in steps[-1].details[1]


def test_for_a_person_one_line_per_step_details_indented_and_as_json() -> None:
    lines = format_trace(trace())
    assert lines[0] == "trace of OPS-1: jira:dc1:10000, pd:acme:Q1"
    step_lines = [line for line in lines[1:] if not line.startswith(" ")]
    assert len(step_lines) == 5
    assert step_lines[3].endswith("jira-writer CreateIssue create:acme:Q1 attempt 2: done (100 ms)")
    assert "+700 ms" in step_lines[3]
    assert "      POST /rest/api/2/issue -> 201 in 85.5 ms" in lines
    again = msgspec.json.decode(msgspec.json.encode(trace()), type=Trace)
    assert again == trace()


def test_the_linked_entity_joins_the_trace() -> None:
    link = IssueLinked(
        command_id="create:acme:Q1",
        correlation_id="ev-1",
        incident=IncidentRef(account="acme", incident_id="Q1"),
        issue=IssueRef(instance="dc1", issue_id="10000", key="OPS-1"),
        created=True,
    )
    assert resolve_links({"jira:dc1:10000"}, [link]) == {"jira:dc1:10000", "pd:acme:Q1"}
    assert resolve_links({"pd:acme:Q2"}, [link]) == {"pd:acme:Q2"}


def test_a_huge_reference_is_not_echoed_whole() -> None:
    """A pasted body or log line as the reference: the answer names it briefly."""
    from datetime import timedelta

    from pdjira_common.trace import _nothing

    said = _nothing("x" * 5000, timedelta(hours=24), set())
    assert "(5000 characters)" in said
    assert len(said) < 400
    assert "nothing found for 'NOPE-1' in the last 24 h" in _nothing(
        "NOPE-1", timedelta(hours=24), set()
    )
