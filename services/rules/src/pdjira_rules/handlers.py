"""The one handler: decode, ask mapping (link, echoes, pairs) and Jira (JQL the local evaluator
cannot answer), decide with both rule sets, send commands, then the audit record."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

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
from pdjira_rules.engine import decide_rules, jql_questions
from pdjira_rules.metrics import RulesMetrics
from pdjira_rules.routing import command_subject
from pdjira_rules.rule_model import StoredRule

__all__ = ["JqlAsker", "RuleSource", "handle_event"]


class RuleSource(Protocol):
    """Where the PagerDuty-style rules in effect come from (the KV-backed store)."""

    def current(self) -> tuple[StoredRule, ...]: ...


class JqlAsker(Protocol):
    """Asks Jira whether ``issue_key`` matches ``jql`` (raises Retryable when it cannot tell);
    ``as_of``: the event's time, so an answer about an older state is never reused."""

    async def ask(self, instance: str, issue_key: str, jql: str, *, as_of: int = 0) -> bool: ...


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


async def _jira_answers(
    jql: JqlAsker | None, event: Event, questions: Sequence[str]
) -> Mapping[str, bool]:
    if jql is None or isinstance(event, IncidentEvent):
        return {}
    return {
        q: await jql.ask(event.instance, event.key, q, as_of=event.timestamp_ms) for q in questions
    }


def _merge(first: Decision, second: Decision) -> Decision:
    return Decision(
        commands=first.commands + second.commands, verdicts=first.verdicts + second.verdicts
    )


async def handle_event(
    broker: NatsBroker,
    rules: Sequence[SyncRule],
    body: bytes,
    metrics: RulesMetrics,
    *,
    store: RuleSource | None = None,
    jql: JqlAsker | None = None,
) -> Decision:
    try:
        event = decode_event(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Unprocessable(f"not an event this rules service understands: {exc}") from exc
    bind_correlation_id(event.correlation_id)
    stored = store.current() if store is not None else ()
    wanted = bool(stored) or needs_link(event, rules)
    link = await _link(broker, event) if wanted else None
    echoes = await _echoes(broker, event, link)
    synced_as = None if echoes & {"note", "comment"} else await _synced_as(broker, event, link)
    decision = decide(event, rules, link, echoes=echoes, synced_as=synced_as)
    if stored:
        answers = await _jira_answers(jql, event, jql_questions(event, stored, link))
        taken = frozenset(c.command_id for c in decision.commands)
        more = decide_rules(
            event,
            stored,
            link,
            echoes=echoes,
            synced_as=synced_as,
            jira_answers=answers,
            taken=taken,
        )
        decision = _merge(decision, more)
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
