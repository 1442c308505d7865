"""One timeline from a webhook received to the vendor write done: ``pdjira trace`` and the
admin API's ``/admin/v1/trace/{ref}``.

The steps come from four streams, joined by correlation id (the id of the source event, in
every message): EVENTS (the normalized event, when it was stored), AUDIT (the rules service's
decision with every rule item and why, and the writers' record of each attempt at a command
with every vendor call), DLQ (what ran out of retries). :func:`assemble` is pure: it orders
what was found into steps; :func:`collect` reads the streams and resolves the reference (an
issue key such as ``OPS-1``, an incident or issue id, ``pd:<account>:<id>`` /
``jira:<instance>:<id>``, or a correlation id). The trace of an issue includes the path of its
linked incident, and the other way round (the link is read from OUTCOMES).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from pdjira_common import streams, subjects
from pdjira_common.contracts import (
    AuditRecord,
    DeadLetter,
    Event,
    IncidentEvent,
    IssueLinked,
    WriteRecord,
    decode_event,
    decode_outcome,
    decode_trail,
)

__all__ = [
    "StoredEvent",
    "Trace",
    "TraceAmbiguous",
    "TraceNotFound",
    "TraceStep",
    "assemble",
    "collect",
    "format_trace",
    "resolve",
    "resolve_links",
]

ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-[0-9]+$")
_ENTITY = re.compile(r"^(pd|jira):([^:]+):(.+)$")
_FETCH = 256
MAX_MESSAGES = 20_000  # per stream read: a trace stays bounded whatever the window holds


class TraceNotFound(LookupError):
    """Nothing matches the reference; the message says what was looked for and what to try."""


class TraceAmbiguous(TraceNotFound):
    """The reference names entities in several instances / accounts: choose one."""


class TraceStep(msgspec.Struct, frozen=True, kw_only=True):
    """One step: when, what, and the details a person needs to see why."""

    at: str  # ISO time
    kind: str  # "received", "decided", "write", "dead-letter"
    correlation_id: str
    entity: str
    title: str
    details: tuple[str, ...] = ()
    # Milliseconds since the first step of the same correlation id (the webhook received).
    since_start_ms: float | None = None
    latency_ms: float | None = None  # the step's own duration (a write attempt's)


class Trace(msgspec.Struct, frozen=True, kw_only=True):
    ref: str
    entities: tuple[str, ...]
    steps: tuple[TraceStep, ...]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    event: Event
    stored_at: datetime


# ---------------------------------------------------------------------- pure assembly


def entity_of(event: Event) -> str:
    if isinstance(event, IncidentEvent):
        return f"pd:{event.account}:{event.incident_id}"
    return f"jira:{event.instance}:{event.issue_id}"


def _parse(moment: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(moment)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _event_step(stored: StoredEvent) -> TraceStep:
    event = stored.event
    if isinstance(event, IncidentEvent):
        what = event.event_type
        details = [f"incident {event.incident_id}: {event.title}"]
        if event.facts is not None:
            facts = event.facts
            parts = [f"status {facts.status}"]
            if facts.urgency:
                parts.append(f"urgency {facts.urgency}")
            if facts.priority is not None and facts.priority.summary:
                parts.append(f"priority {facts.priority.summary}")
            if facts.service is not None:
                parts.append(f"service {facts.service.id or facts.service.summary}")
            details.append(", ".join(parts))
        if event.note is not None:
            details.append(f"note {event.note.id}")
        occurred = event.occurred_at
    else:
        what = event.issue_event_type or event.webhook_event
        details = [f"issue {event.key} (id {event.issue_id}), status {event.status or '?'}"]
        details += [
            f"changed {c.field}: {c.from_string or c.from_value or '-'} -> "
            f"{c.to_string or c.to_value or '-'}"
            for c in event.changes
        ]
        if event.comment is not None:
            details.append(f"comment {event.comment.id}")
        occurred = datetime.fromtimestamp(event.timestamp_ms / 1000, UTC).isoformat()
    origin = "webhook received" if event.origin == "webhook" else f"{event.origin} found"
    details.append(f"event {event.event_id}, occurred {occurred}")
    return TraceStep(
        at=stored.stored_at.isoformat(),
        kind="received",
        correlation_id=event.correlation_id,
        entity=entity_of(event),
        title=f"{origin}: {what}",
        details=tuple(details),
    )


def _decision_step(record: AuditRecord) -> TraceStep:
    details = [
        f"{'+' if v.matched else '-'} {v.rule}{f' / {v.item}' if v.item else ''}: {v.reason}"
        for v in record.verdicts
    ]
    if record.command_ids:
        details.append("commands: " + ", ".join(record.command_ids))
    return TraceStep(
        at=record.recorded_at,
        kind="decided",
        correlation_id=record.correlation_id,
        entity=record.entity,
        title=f"{record.service} decided {record.event_type}: {record.summary}",
        details=tuple(details),
    )


def _write_step(record: WriteRecord) -> TraceStep:
    details = []
    for call in record.calls:
        answer = str(call.status) if call.status is not None else f"no answer ({call.error})"
        details.append(f"{call.method} {call.path} -> {answer} in {call.latency_ms:g} ms")
    outcome = record.outcome
    if record.outcome in ("retry", "waiting"):
        when = f"in {record.delay:g} s" if record.delay is not None else "after the backoff"
        outcome = f"{record.outcome} ({when})"
    details.append(f"{outcome}: {record.detail}")
    started, ended = _parse(record.started_at), _parse(record.recorded_at)
    return TraceStep(
        at=record.started_at,
        kind="write",
        correlation_id=record.correlation_id,
        entity=record.entity,
        title=f"{record.service} {record.command} {record.command_id} attempt {record.attempt}: "
        f"{record.outcome}",
        details=tuple(details),
        latency_ms=round((ended - started).total_seconds() * 1000.0, 1),
    )


def _letter_step(letter: DeadLetter) -> TraceStep:
    return TraceStep(
        at=letter.failed_at,
        kind="dead-letter",
        correlation_id=letter.correlation_id or "",
        entity=letter.subject,
        title=f"dead-lettered by {letter.consumer} after {letter.attempts} attempt(s)",
        details=(letter.reason, "replay it with `pdjira dlq replay` once the cause is fixed"),
    )


def assemble(
    ref: str,
    entities: Iterable[str],
    events: Iterable[StoredEvent],
    records: Iterable[AuditRecord | WriteRecord],
    letters: Iterable[DeadLetter] = (),
) -> Trace:
    """The steps ordered by time; each knows how long after its chain's first step it came."""
    steps = [_event_step(e) for e in events]
    steps += [_decision_step(r) if isinstance(r, AuditRecord) else _write_step(r) for r in records]
    steps += [_letter_step(letter) for letter in letters]
    steps.sort(key=lambda s: (_parse(s.at), s.kind != "received"))
    first: dict[str, datetime] = {}
    timed = []
    for step in steps:
        at = _parse(step.at)
        start = first.setdefault(step.correlation_id, at)
        since = round((at - start).total_seconds() * 1000.0, 1)
        timed.append(msgspec.structs.replace(step, since_start_ms=since))
    return Trace(ref=ref, entities=tuple(sorted(set(entities))), steps=tuple(timed))


def format_trace(trace: Trace) -> list[str]:
    """For a person: one line per step (time, +ms since its chain began), details indented."""
    lines = [f"trace of {trace.ref}: {', '.join(trace.entities) or 'correlation id'}"]
    for step in trace.steps:
        since = f"+{step.since_start_ms:g} ms" if step.since_start_ms is not None else ""
        took = f" ({step.latency_ms:g} ms)" if step.latency_ms is not None else ""
        lines.append(f"{step.at}  {since:>12}  {step.title}{took}")
        lines.append(f"      {step.entity}  correlation {step.correlation_id}")
        lines += [f"      {detail}" for detail in step.details]
    return lines


def resolve_links(entities: set[str], links: Sequence[IssueLinked]) -> set[str]:
    """``entities`` and every entity linked to one of them."""
    found = set(entities)
    for link in links:
        incident = f"pd:{link.incident.account}:{link.incident.incident_id}"
        issue = f"jira:{link.issue.instance}:{link.issue.issue_id}"
        if incident in found or issue in found:
            found |= {incident, issue}
    return found


# ---------------------------------------------------------------------- reading NATS


@dataclass(slots=True)
class _Reader:
    js: JetStreamContext
    since: datetime
    links: list[IssueLinked] | None = None

    async def read(self, stream: str, subject: str) -> list[tuple[bytes, datetime]]:
        """Every message of ``stream`` on ``subject`` stored since ``since`` (bounded)."""
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=self.since,
            inactive_threshold=30.0,
            mem_storage=True,
        )
        sub = await self.js.pull_subscribe(subject, stream=stream, config=config)
        out: list[tuple[bytes, datetime]] = []
        name: str | None = None
        try:
            info = await sub.consumer_info()
            name = info.name
            pending = min(info.num_pending or 0, MAX_MESSAGES)
            while len(out) < pending:
                try:
                    batch = await sub.fetch(min(_FETCH, pending - len(out)), timeout=5.0)
                except TimeoutError:
                    break
                for msg in batch:
                    out.append((msg.data, msg.metadata.timestamp or datetime.now(UTC)))
        finally:
            await sub.unsubscribe()
            if name is not None:  # else it goes after its inactive threshold
                with contextlib.suppress(Exception):
                    await self.js.delete_consumer(stream, name)
        return out

    async def linked(self) -> list[IssueLinked]:
        if self.links is None:
            self.links = []
            for data, _ in await self.read(streams.OUTCOMES, "outcomes.>"):
                try:
                    outcome = decode_outcome(data)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    continue
                if isinstance(outcome, IssueLinked):
                    self.links.append(outcome)
        return self.links

    async def events(self, entity: str) -> list[StoredEvent]:
        match = _ENTITY.match(entity)
        if match is None:
            return []
        system, target, entity_id = match.groups()
        # "*": any account / instance (an id given without one).
        where = "*" if target == "*" else subjects.token(target)
        published = f"events.{system}.{where}.{subjects.token(entity_id)}"
        found = []
        for data, stored_at in await self.read(streams.EVENTS, subjects.stored_filter(published)):
            try:
                found.append(StoredEvent(decode_event(data), stored_at))
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
        return found


def _choose(kind: str, found: set[tuple[str, str]], given: str | None, ref: str) -> set[str]:
    """The entities of ``found`` ((target, entity)) in target ``given``, or in the only one."""
    targets = sorted({target for target, _ in found})
    if given is not None:
        chosen = {entity for target, entity in found if target == given}
        if not chosen:
            raise TraceNotFound(f"{ref} is not in {kind} {given!r}; it is in: {', '.join(targets)}")
        return chosen
    if len(targets) > 1:
        flag = "--instance" if kind == "Jira instance" else "--account"
        raise TraceAmbiguous(
            f"{ref} is in several {kind}s ({', '.join(targets)}): choose one with {flag}"
        )
    return {entity for _, entity in found}


async def _resolve(
    reader: _Reader, ref: str, instance: str | None, account: str | None
) -> set[str]:
    """The entities ``ref`` names (empty: take it as a correlation id)."""
    match = _ENTITY.match(ref)
    if match is not None:
        return {ref}
    if ISSUE_KEY.match(ref):
        found: set[tuple[str, str]] = set()
        for link in await reader.linked():
            if link.issue.key == ref:
                found.add(
                    (link.issue.instance, f"jira:{link.issue.instance}:{link.issue.issue_id}")
                )
        for data, _ in await reader.read(streams.EVENTS, "events.jira.>"):
            try:
                event = decode_event(data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if not isinstance(event, IncidentEvent) and event.key == ref:
                found.add((event.instance, entity_of(event)))
        if found:
            return _choose("Jira instance", found, instance, ref)
    if subjects.id_problem(ref) is None:
        incidents = {
            (e.event.account, entity_of(e.event))
            for e in await reader.events(f"pd:{account or '*'}:{ref}")
            if isinstance(e.event, IncidentEvent)
        }
        if incidents:
            return _choose("PagerDuty account", incidents, account, ref)
        issues = {
            (e.event.instance, entity_of(e.event))
            for e in await reader.events(f"jira:{instance or '*'}:{ref}")
            if not isinstance(e.event, IncidentEvent)
        }
        if issues:
            return _choose("Jira instance", issues, instance, ref)
    return set()


async def _entities(
    reader: _Reader, ref: str, instance: str | None, account: str | None
) -> tuple[set[str], set[str]]:
    """The entities ``ref`` names, and those with the ones linked to them."""
    named = await _resolve(reader, ref, instance, account)
    return named, resolve_links(named, await reader.linked()) if named else set()


async def resolve(
    js: JetStreamContext,
    ref: str,
    *,
    instance: str | None = None,
    account: str | None = None,
    since: timedelta = timedelta(hours=24),
) -> set[str]:
    """The entities ``ref`` names and those linked to them (empty: ``ref`` names no entity,
    e.g. a correlation id); TraceNotFound when it is ambiguous (say --instance/--account)."""
    _, entities = await _entities(_Reader(js, datetime.now(UTC) - since), ref, instance, account)
    return entities


async def collect(
    js: JetStreamContext,
    ref: str,
    *,
    instance: str | None = None,
    account: str | None = None,
    since: timedelta = timedelta(hours=24),
) -> Trace:
    """The trace of ``ref`` from what the streams hold of the last ``since``; TraceNotFound
    (saying what to try) when nothing matches."""
    reader = _Reader(js, datetime.now(UTC) - since)
    named, entities = await _entities(reader, ref, instance, account)
    events: list[StoredEvent] = []
    for entity in sorted(entities):
        events += await reader.events(entity)
    # ``ref`` itself may be a correlation id, even one shaped like an entity ("pd:main:<uuid>").
    correlations = {e.event.correlation_id for e in events} | {ref}
    records = await _records(reader, correlations)
    if not events:  # a correlation id: the events it began with, from the entities decided
        began: set[str] = set()
        for entity in sorted({r.entity for r in records if isinstance(r, AuditRecord)}):
            found = [e for e in await reader.events(entity) if e.event.correlation_id == ref]
            if found:
                events += found
                began.add(entity)
        entities = began or entities
    letters = [
        letter
        for letter in await _letters(reader)
        if letter.correlation_id is not None and letter.correlation_id in correlations
    ]
    if not events and not records and not letters:
        raise TraceNotFound(_nothing(ref, since, named))
    return assemble(ref, entities, events, records, letters)


async def _records(reader: _Reader, correlations: set[str]) -> list[AuditRecord | WriteRecord]:
    records: list[AuditRecord | WriteRecord] = []
    for correlation in sorted(correlations):
        for data, _ in await reader.read(streams.AUDIT, subjects.audit(correlation)):
            try:
                record = decode_trail(data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if record.correlation_id in correlations:
                records.append(record)
    return records


async def _letters(reader: _Reader) -> list[DeadLetter]:
    letters = []
    for data, _ in await reader.read(streams.DLQ, "dlq.>"):
        try:
            letters.append(msgspec.json.decode(data, type=DeadLetter))
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
    return letters


def _nothing(ref: str, since: timedelta, named: set[str]) -> str:
    hours = since.total_seconds() / 3600
    if named:
        return (
            f"nothing recorded about {', '.join(sorted(named))} in the last {hours:g} h; "
            "look further back with --since"
        )
    # A pasted log line or a whole body can land here: say what it was, not all of it.
    shown = repr(ref) if len(ref) <= 80 else f"{ref[:64]!r}... ({len(ref)} characters)"
    return (
        f"nothing found for {shown} in the last {hours:g} h: give an issue key (OPS-1), an "
        "incident or issue id, pd:<account>:<incident id>, jira:<instance>:<issue id> or a "
        "correlation id (from the logs); or look further back with --since"
    )
