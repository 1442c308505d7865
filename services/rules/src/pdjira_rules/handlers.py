"""The one handler: decode, ask mapping (link, echoes, pairs), decide, send commands, then the
audit record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec
from faststream.nats import NatsBroker
from pdjira_common import streams, subjects
from pdjira_common.bus import Retryable, Unprocessable, publish
from pdjira_common.config import SyncRule
from pdjira_common.contracts import Event, IncidentEvent, Link, decode_event
from pdjira_common.logging import bind_correlation_id, get_logger
from pdjira_common.mapping_client import (
    MappingUnavailable,
    consume_echo,
    link_of_incident,
    link_of_issue,
    lookup_pair,
)

from pdjira_rules.audit import audit_msg_id, audit_record
from pdjira_rules.decide import Decision, decide, needs_link
from pdjira_rules.echoes import echo_probes, pair_probe
from pdjira_rules.metrics import RulesMetrics
from pdjira_rules.routing import command_subject

__all__ = ["handle_event"]

_log = get_logger("pdjira_rules")


async def _link(broker: NatsBroker, event: Event) -> Link | None:
    try:
        if isinstance(event, IncidentEvent):
            return await link_of_incident(broker, event.incident)
        return await link_of_issue(broker, event.instance, event.issue_id)
    except MappingUnavailable as exc:
        # Never assume "no link": that would create a second issue for a linked incident.
        raise Retryable(f"link lookup failed: {exc}") from exc


async def _echoes(broker: NatsBroker, event: Event, link: Link | None) -> frozenset[str]:
    """The fields of ``event`` that are echoes of our own writes (their marks are consumed)."""
    matched: set[str] = set()
    try:
        for probe in echo_probes(event, link):
            if await consume_echo(broker, probe):
                matched.add(probe.field)
    except MappingUnavailable as exc:
        # Never assume "not an echo": that is how loops start.
        raise Retryable(f"echo check failed: {exc}") from exc
    return frozenset(matched)


async def _synced_as(broker: NatsBroker, event: Event, link: Link | None) -> str | None:
    """The comment (note) the event's note (comment) already has, if any."""
    probe = pair_probe(event, link)
    if probe is None:
        return None
    try:
        reply = await lookup_pair(broker, probe)
    except MappingUnavailable as exc:
        raise Retryable(f"pair lookup failed: {exc}") from exc
    return reply.comment_id if probe.note_id is not None else reply.note_id


async def handle_event(
    broker: NatsBroker, rules: Sequence[SyncRule], body: bytes, metrics: RulesMetrics
) -> Decision:
    try:
        event = decode_event(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Unprocessable(f"not an event this rules service understands: {exc}") from exc
    bind_correlation_id(event.correlation_id)
    link = await _link(broker, event) if needs_link(event, rules) else None
    echoes = await _echoes(broker, event, link)
    synced_as = None if echoes & {"note", "comment"} else await _synced_as(broker, event, link)
    decision = decide(event, rules, link, echoes=echoes, synced_as=synced_as)
    # Commands before the audit record: an audit record means its commands are stored.
    for command in decision.commands:
        await publish(
            broker,
            command,
            command_subject(command),
            stream=streams.COMMANDS,
            msg_id=command.command_id,
            correlation_id=event.correlation_id,
        )
    record = audit_record(event, decision, recorded_at=datetime.now(UTC).isoformat())
    await publish(
        broker,
        record,
        subjects.audit(event.correlation_id),
        stream=streams.AUDIT,
        msg_id=audit_msg_id(record),
        correlation_id=event.correlation_id,
    )
    metrics.observe(record)
    _log.info(
        "decided",
        event_type=record.event_type,
        entity=record.entity,
        summary=record.summary,
        commands=list(record.command_ids),
    )
    return decision
