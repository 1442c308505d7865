"""The writer's part of the audit trail: one :class:`WriteRecord` per attempt at a command
(every vendor call with its status and latency, and what came of it), in stream AUDIT under
the command's correlation id, beside the rules service's decision.

Building the record is pure; publishing it never fails the command: a record that cannot be
stored is counted (``pdjira_<writer>_audit_failures``) and logged, the write goes on.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime

from faststream.nats import NatsBroker
from pdjira_common import streams, subjects
from pdjira_common.bus import publish
from pdjira_common.contracts import (
    AddNote,
    Command,
    CommandFailed,
    CommentAdded,
    CreateIncident,
    FieldsUpdated,
    IncidentUpdated,
    IssueLinked,
    IssueTransitioned,
    NoteAdded,
    Outcome,
    UpdateIncident,
    UpdateIncidentFields,
    VendorCall,
    WriteRecord,
    WriteSkipped,
)
from pdjira_common.logging import get_logger
from pdjira_common.retry import Retryable, WaitForPrerequisite, reason_of
from prometheus_client import Counter

__all__ = [
    "Attempts",
    "command_entity",
    "command_target",
    "describe_outcome",
    "publish_quietly",
    "record_failure",
    "record_outcome",
]

_log = get_logger(__name__)
_PUBLISH_TIMEOUT = 2.0  # an audit record is not worth holding a command up longer


def command_target(command: Command) -> str:
    """The vendor target the command writes to: ``jira:<instance>`` or ``pd:<account>``."""
    if isinstance(command, CreateIncident):
        return f"pd:{command.account}"
    if isinstance(command, UpdateIncident | UpdateIncidentFields | AddNote):
        return f"pd:{command.incident.account}"
    return f"jira:{command.instance}"


def command_entity(command: Command) -> str:
    """What the command is about, as the audit trail names entities."""
    if isinstance(command, CreateIncident):
        return f"jira:{command.issue.instance}:{command.issue.issue_id}"
    return f"pd:{command.incident.account}:{command.incident.incident_id}"


def describe_outcome(outcome: Outcome) -> tuple[str, str]:
    """(kind, words): "done" / "skipped" / "failed", and what happened."""
    if isinstance(outcome, WriteSkipped):
        return "skipped", outcome.reason
    if isinstance(outcome, CommandFailed):
        status = f" (HTTP {outcome.status_code})" if outcome.status_code is not None else ""
        return "failed", f"{outcome.reason}{status}"
    if isinstance(outcome, IssueLinked):
        how = "created" if outcome.created else "found"
        issue = outcome.issue
        return "done", (
            f"issue {issue.key} (id {issue.issue_id}) {how}; linked to incident "
            f"{outcome.incident.incident_id}"
        )
    if isinstance(outcome, IssueTransitioned):
        path = " -> ".join(outcome.path) or outcome.to_status
        return "done", (
            f"issue {outcome.issue.key} moved from {outcome.from_status} to "
            f"{outcome.to_status} ({path})"
        )
    if isinstance(outcome, IncidentUpdated):
        return "done", (
            f"incident {outcome.incident.incident_id} {outcome.from_status} -> {outcome.to_status}"
        )
    if isinstance(outcome, CommentAdded):
        return (
            "done",
            f"comment {outcome.comment_id} on {outcome.issue.key} for note {outcome.note_id}",
        )
    if isinstance(outcome, NoteAdded):
        return "done", (
            f"note {outcome.note_id} on incident {outcome.incident.incident_id} for comment "
            f"{outcome.comment_id}"
        )
    assert isinstance(outcome, FieldsUpdated)
    written = ", ".join(outcome.fields) or "nothing"
    alone = f"; left alone: {', '.join(outcome.left_alone)}" if outcome.left_alone else ""
    return "done", f"{outcome.target}: set {written}{alone}"


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _record(
    service: str,
    command: Command,
    *,
    attempt: int,
    started_at: str,
    calls: tuple[VendorCall, ...],
    outcome: str,
    detail: str,
    delay: float | None = None,
) -> WriteRecord:
    return WriteRecord(
        correlation_id=command.correlation_id,
        service=service,
        command_id=command.command_id,
        command=type(command).__name__,
        target=command_target(command),
        entity=command_entity(command),
        attempt=attempt,
        started_at=started_at,
        recorded_at=_now(),
        outcome=outcome,
        detail=detail,
        calls=calls,
        delay=delay,
    )


def record_outcome(
    service: str,
    command: Command,
    outcome: Outcome,
    *,
    attempt: int,
    started_at: str,
    calls: tuple[VendorCall, ...],
) -> WriteRecord:
    """The record of an attempt that ended with ``outcome``."""
    kind, detail = describe_outcome(outcome)
    if isinstance(outcome, CommandFailed) and outcome.permanent:
        detail += "; dead-lettered: replay it with `pdjira dlq replay` after the fix"
    return _record(
        service,
        command,
        attempt=attempt,
        started_at=started_at,
        calls=calls,
        outcome=kind,
        detail=detail,
    )


def record_failure(
    service: str,
    command: Command,
    error: BaseException,
    *,
    attempt: int,
    started_at: str,
    calls: tuple[VendorCall, ...],
) -> WriteRecord:
    """The record of an attempt that raised ``error``: the lane tries it again (or, after the
    last attempt, dead-letters it: the DLQ says so)."""
    waiting = isinstance(error, WaitForPrerequisite)
    delay = (
        getattr(error, "delay", None)
        if isinstance(error, Retryable | WaitForPrerequisite)
        else None
    )
    return _record(
        service,
        command,
        attempt=attempt,
        started_at=started_at,
        calls=calls,
        outcome="waiting" if waiting else "retry",
        detail=reason_of(error),
        delay=delay,
    )


async def publish_quietly(broker: NatsBroker, record: WriteRecord, failures: Counter) -> None:
    """Store ``record`` in AUDIT; a failure is counted and logged, never raised."""
    try:
        await publish(
            broker,
            record,
            subjects.audit(record.correlation_id),
            stream=streams.AUDIT,
            msg_id=f"write:{record.command_id}:{record.attempt}:{record.started_at}",
            correlation_id=record.correlation_id,
            timeout=_PUBLISH_TIMEOUT,
        )
    except Exception as exc:
        failures.inc()
        _log.warning("write_record_not_stored", reason=reason_of(exc), id=record.command_id)


class Attempts:
    """Attempts at each command in this process (the lane retries in place), bounded."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._counts: OrderedDict[str, int] = OrderedDict()

    def next(self, command_id: str, *, delivered: int = 1) -> int:
        """This attempt's number: one more than the last one here, at least the delivery."""
        count = max(self._counts.pop(command_id, 0) + 1, delivered)
        self._counts[command_id] = count
        if len(self._counts) > self._limit:
            self._counts.popitem(last=False)
        return count

    def done(self, command_id: str) -> None:
        self._counts.pop(command_id, None)
