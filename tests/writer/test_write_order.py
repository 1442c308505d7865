"""The write order's pure rule ("never move backwards because an older event arrived late") and
its record, as both writers use them."""

from __future__ import annotations

from pdjira_common.contracts import IncidentRef, TransitionIssue
from pdjira_writer.write_order import (
    LastWrite,
    older_than_last,
    record_write,
    stale_reason,
    write_key,
)
from support.writer_standins import MemoryLastWrites

T1 = "2026-11-26T08:00:01.000Z"
T2 = "2026-11-26T08:00:02.000Z"
T3 = "2026-11-26T08:00:03.000Z"
LAST = LastWrite(caused_at=T2, status="Done", command_id="resolve-1")


def test_an_older_cause_is_refused_with_the_reason() -> None:
    reason = older_than_last(T1, LAST)
    assert reason is not None
    assert reason.startswith("older than the last change we wrote (")
    assert T1 in reason
    assert T2 in reason
    assert "'Done'" in reason


def test_a_newer_or_equal_cause_applies() -> None:
    assert older_than_last(T3, LAST) is None
    assert older_than_last(T2, LAST) is None  # a redelivery: convergence decides instead


def test_no_cause_no_record_or_unreadable_time_applies() -> None:
    assert older_than_last(None, LAST) is None
    assert older_than_last(T1, None) is None
    assert older_than_last("yesterday", LAST) is None


def test_times_compare_across_offsets_and_precisions() -> None:
    assert older_than_last("2026-11-26T09:00:01+02:00", LAST) is not None  # 07:00:01Z
    assert older_than_last("2026-11-26T08:00:02.001+00:00", LAST) is None
    assert older_than_last("2026-11-26T08:00:01", LAST) is not None  # naive means UTC


def test_keys_are_safe_subject_tokens() -> None:
    assert write_key("pd", "acme", "PGR0VU2") == "pd.acme.PGR0VU2"
    # Replaced characters leave a digest: "a.b" and "a_b" are two keys, each a valid KV key.
    key = write_key("jira", "dc 1", "a.b")
    assert key.startswith("jira.dc_1=")
    assert key.count(".") == 2
    assert key != write_key("jira", "dc 1", "a_b")
    assert len(write_key("pd", "acme", "P" * 5000)) < 100


def move(caused_at: str | None, command_id: str = "move-1") -> TransitionIssue:
    return TransitionIssue(
        command_id=command_id,
        correlation_id="evt-1",
        incident=IncidentRef(account="acme", incident_id="P1"),
        instance="dc1",
        target_status="Done",
        caused_at=caused_at,
    )


async def test_a_recorded_write_makes_an_older_cause_stale() -> None:
    record = MemoryLastWrites()
    key = write_key("jira", "acme", "P1")
    assert await stale_reason(record, key, T1) is None  # nothing recorded yet
    await record_write(record, key, move(T2, "resolve-1"), "Done")
    assert record.records[key] == LAST
    assert await stale_reason(record, key, T3) is None
    reason = await stale_reason(record, key, T1)
    assert reason is not None
    assert "which set 'Done' by command resolve-1" in reason


async def test_a_command_without_a_cause_time_records_nothing() -> None:
    record = MemoryLastWrites()
    await record_write(record, "jira.acme.P1", move(None), "Done")
    assert record.records == {}


def test_a_cause_known_to_the_second_is_taken_at_the_end_of_it() -> None:
    from datetime import UTC, datetime

    from pdjira_writer.write_order import cause_time

    # PagerDuty's REST times (what reconciliation recovers) have whole seconds
    assert cause_time("2026-12-06T11:07:51Z") == datetime(2026, 12, 6, 11, 7, 51, 999_999, UTC)
    # times with a fraction (webhooks, Jira) are what they say
    assert cause_time("2026-12-06T11:07:51.293+0000") == datetime(
        2026, 12, 6, 11, 7, 51, 293_000, UTC
    )
    assert cause_time("not a time") is None
    # a resolve recovered as 11:07:51Z is not older than a write caused at 11:07:51.293
    last = LastWrite(caused_at="2026-12-06T11:07:51.293Z", status="In Progress", command_id="c")
    assert older_than_last("2026-12-06T11:07:51Z", last) is None
    assert older_than_last("2026-12-06T11:07:50Z", last) is not None
