"""The one handler: decode, look up the link, decide, send commands, then the audit record."""

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
from pdjira_common.mapping_client import MappingUnavailable, link_of_incident, link_of_issue

from pdjira_rules.audit import audit_msg_id, audit_record
from pdjira_rules.decide import Decision, decide, needs_link
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


async def handle_event(
    broker: NatsBroker, rules: Sequence[SyncRule], body: bytes, metrics: RulesMetrics
) -> Decision:
    try:
        event = decode_event(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Unprocessable(f"not an event this rules service understands: {exc}") from exc
    bind_correlation_id(event.correlation_id)
    link = await _link(broker, event) if needs_link(event, rules) else None
    decision = decide(event, rules, link)
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
