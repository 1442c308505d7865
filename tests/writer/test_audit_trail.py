"""The writers' audit trail (pure parts, and the publish that never fails a write): the calls
recorded per attempt without their query, the outcome in words, attempt numbers, and a record
that cannot be stored counted instead of raised."""

from __future__ import annotations

from typing import Any, cast

from faststream.nats import NatsBroker
from pdjira_common.contracts import (
    CommandFailed,
    CreateIssue,
    IncidentRef,
    IssueLinked,
    IssueRef,
    WriteSkipped,
)
from pdjira_common.retry import Retryable, WaitForPrerequisite
from pdjira_writer.audit_trail import (
    Attempts,
    publish_quietly,
    record_failure,
    record_outcome,
)
from pdjira_writer.call_log import note_call, recording_calls
from prometheus_client import CollectorRegistry, Counter

INCIDENT = IncidentRef(account="acme", incident_id="Q1")
CREATE = CreateIssue(
    command_id="create:acme:Q1",
    correlation_id="ev-1",
    incident=INCIDENT,
    instance="dc1",
    project="OPS",
    issue_type="Task",
    summary="Disk full",
    description="",
)


def test_calls_are_recorded_only_inside_an_attempt_and_never_with_their_query() -> None:
    note_call("GET", "/rest/api/2/search?jql=secret", status=200, started=0.0, latency=0.01)
    with recording_calls() as log:
        note_call(
            "get", "/rest/api/2/search?jql=labels%3Dx", status=200, started=0.0, latency=0.0123
        )
        note_call(
            "POST",
            "/rest/api/2/issue",
            status=None,
            started=1.0,
            latency=2.0,
            error="ConnectTimeout",
        )
    [search, post] = log.calls
    assert (search.method, search.path, search.status, search.latency_ms) == (
        "GET",
        "/rest/api/2/search",
        200,
        12.3,
    )
    assert (post.status, post.error, post.at) == (
        None,
        "ConnectTimeout",
        "1970-01-01T00:00:01+00:00",
    )


def test_each_outcome_in_words() -> None:
    linked = IssueLinked(
        command_id=CREATE.command_id,
        correlation_id="ev-1",
        incident=INCIDENT,
        issue=IssueRef(instance="dc1", issue_id="10000", key="OPS-1"),
        created=True,
    )
    done = record_outcome("jira-writer", CREATE, linked, attempt=1, started_at="t0", calls=())
    assert (done.outcome, done.detail) == (
        "done",
        "issue OPS-1 (id 10000) created; linked to incident Q1",
    )
    assert (done.target, done.entity, done.command) == ("jira:dc1", "pd:acme:Q1", "CreateIssue")
    skipped = WriteSkipped(command_id="c", correlation_id="ev-1", reason="already Done")
    assert (
        record_outcome("jira-writer", CREATE, skipped, attempt=1, started_at="t", calls=()).outcome
        == "skipped"
    )
    refused = CommandFailed(
        command_id="c",
        correlation_id="ev-1",
        reason="Jira refused (400)",
        permanent=True,
        status_code=400,
    )
    failed = record_outcome("jira-writer", CREATE, refused, attempt=2, started_at="t", calls=())
    assert failed.outcome == "failed"
    assert failed.detail.startswith("Jira refused (400) (HTTP 400); dead-lettered")
    retry = record_failure(
        "jira-writer", CREATE, Retryable("503", delay=2.5), attempt=1, started_at="t", calls=()
    )
    assert (retry.outcome, retry.detail, retry.delay) == ("retry", "503", 2.5)
    wait = record_failure(
        "jira-writer",
        CREATE,
        WaitForPrerequisite("no issue yet"),
        attempt=1,
        started_at="t",
        calls=(),
    )
    assert (wait.outcome, wait.delay) == ("waiting", None)


def test_attempts_count_retries_in_place_and_redeliveries() -> None:
    attempts = Attempts(limit=2)
    assert [attempts.next("a"), attempts.next("a"), attempts.next("a")] == [1, 2, 3]
    attempts.done("a")
    assert attempts.next("a") == 1
    assert attempts.next("b", delivered=3) == 3  # redelivered by JetStream: at least that
    attempts.next("c")
    attempts.next("d")  # bounded: the oldest is forgotten
    assert attempts.next("a") == 1


class _Unreachable:
    async def publish(self, *_args: Any, **_kwargs: Any) -> None:
        raise ConnectionError("NATS is gone")


async def test_a_record_that_cannot_be_stored_is_counted_not_raised() -> None:
    registry = CollectorRegistry()
    failures = Counter("audit_failures", "test", registry=registry)
    record = record_failure(
        "jira-writer", CREATE, Retryable("x"), attempt=1, started_at="t", calls=()
    )
    await publish_quietly(cast(NatsBroker, _Unreachable()), record, failures)
    assert registry.get_sample_value("audit_failures_total") == 1
