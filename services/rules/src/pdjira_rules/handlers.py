"""The one handler: ask mapping (link, echoes, pairs) and Jira (JQL the local evaluator cannot
answer) what the rules need, wait while the entity's link is pending, decide with the one
engine, mark the creates pending, send the commands, then the audit record."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Protocol

from faststream.nats import NatsBroker
from pdjira_common import streams, subjects
from pdjira_common.bus import Retryable, publish
from pdjira_common.contracts import Event, IncidentEvent, IssueEvent, Link
from pdjira_common.headers import EVENT_STORED_AT_HEADER
from pdjira_common.logging import bind_correlation_id, get_logger
from pdjira_common.mapping_client import (
    MappingUnavailable,
    consume_echo,
    link_of_incident,
    link_of_issue,
    lookup_pair,
    lookup_user,
)
from pdjira_common.requests import UserLookup, UserReply
from pdjira_common.retry import Unprocessable, WaitForPrerequisite

from pdjira_rules.actors import UnlinkedPolicy, actor_lookup, apply_unlinked_policy
from pdjira_rules.audit import audit_msg_id, audit_record, refused_of
from pdjira_rules.echoes import echo_probes, pair_probe
from pdjira_rules.engine import Decision, LocalJql, decide_rules, jql_questions, needs_link
from pdjira_rules.link_wait import (
    NeverLinked,
    WaitForLink,
    awaits_link,
    created_by_itself,
    creation_mark_key,
    link_gate,
    pending_key,
    pending_marks,
)
from pdjira_rules.metrics import RulesMetrics
from pdjira_rules.pending import PendingLinks
from pdjira_rules.reads import JqlRejected
from pdjira_rules.routing import command_subject
from pdjira_rules.rule_model import StoredRule

__all__ = ["Deciding", "JqlAsker", "RuleSource", "ZoneSource", "handle_event"]


class RuleSource(Protocol):
    """The rules in effect (the KV-backed store minus refused config rules)."""

    def current(self) -> tuple[StoredRule, ...]: ...


class JqlAsker(Protocol):
    """Asks Jira whether ``issue_key`` matches ``jql`` (raises Retryable when it cannot tell);
    ``as_of``: the event's time, so an answer about an older state is never reused."""

    async def ask(self, instance: str, issue_key: str, jql: str, *, as_of: int = 0) -> bool: ...


class ZoneSource(Protocol):
    """The zone Jira reads JQL dates in for pdjira on ``instance`` (None: not known)."""

    async def zone(self, instance: str) -> tzinfo | None: ...


@dataclass(frozen=True, kw_only=True)
class Deciding:
    """What deciding an event uses; ``link_wait``: seconds an event waits for a pending link."""

    broker: NatsBroker
    metrics: RulesMetrics
    rules: RuleSource
    pending: PendingLinks
    jql: JqlAsker | None = None
    link_wait: float = 600.0
    unlinked: UnlinkedPolicy | None = None  # None: changes of unlinked people are applied
    zones: ZoneSource | None = None  # None: JQL date clauses that need the zone go to Jira


@dataclass(frozen=True, kw_only=True)
class _Known:
    """What mapping and Jira said about the event."""

    link: Link | None
    echoes: frozenset[str]
    synced_as: str | None
    jira_answers: Mapping[str, bool]
    local_jql: LocalJql | None  # the JQL truths evaluated for the questions, reused to decide
    actor: UserReply | None = None  # mapping's answer about who acted (unlinked_users: ignore)
    rejected: tuple[JqlRejected, ...] = ()  # JQL Jira refused (400): their rules are refused


_log = get_logger("pdjira_rules")


async def handle_event(deciding: Deciding, event: Event, *, arrived: datetime) -> Decision:
    """Decide ``event`` (``arrived``: when it entered the stream). Raises WaitForPrerequisite
    while its entity's link is pending, Unprocessable when the link never came."""
    bind_correlation_id(event.correlation_id)
    in_effect = deciding.rules.current()
    known = await _ask(deciding, event, in_effect, arrived)
    if known.rejected:
        in_effect = _refuse_rejected(deciding.rules, event, known.rejected)
    decision = decide_rules(
        event,
        in_effect,
        known.link,
        echoes=known.echoes,
        synced_as=known.synced_as,
        jira_answers=known.jira_answers,
        local_jql=known.local_jql,
    )
    decision = apply_unlinked_policy(event, decision, known.actor)
    await _send(deciding, event, decision, arrived=arrived)
    if known.link is None:
        again = created_by_itself(event, decision.commands)
        if again is not None:
            raise WaitForPrerequisite(again)  # its create is sent; the rest waits for it
    return decision


async def _ask(
    deciding: Deciding, event: Event, rules: Sequence[StoredRule], arrived: datetime
) -> _Known:
    broker = deciding.broker
    needed = needs_link(event, rules)
    link = await _link(broker, event) if needed else None
    if needed:  # before any echo mark is consumed: a waiting event is asked again later
        await _wait_while_link_pending(deciding, event, link, arrived)
    actor = await _actor(broker, actor_lookup(event, link, deciding.unlinked))
    echoes = await _echoes(broker, event, link)
    synced_as = None if echoes & {"note", "comment"} else await _synced_as(broker, event, link)
    local_jql = await _local_jql(deciding, event)
    questions = jql_questions(event, rules, link, local_jql=local_jql)
    answers, rejected = await _jira_answers(deciding.jql, event, questions)
    return _Known(
        link=link,
        echoes=echoes,
        synced_as=synced_as,
        jira_answers=answers,
        local_jql=local_jql,
        actor=actor,
        rejected=rejected,
    )


async def _local_jql(deciding: Deciding, event: Event) -> LocalJql | None:
    if not isinstance(event, IssueEvent):
        return None
    zone = await deciding.zones.zone(event.instance) if deciding.zones is not None else None
    return LocalJql(event, zone)


def _refuse_rejected(
    rules: RuleSource, event: Event, rejected: Sequence[JqlRejected]
) -> tuple[StoredRule, ...]:
    """Refuse the rules whose JQL Jira refused (with Jira's words); the rules in effect now.
    A rule source that cannot refuse leaves them undecided (the verdict says Jira's answer is
    missing); the event is decided either way, never retried for a query Jira will refuse."""
    refuse = getattr(rules, "refuse_jql", None)
    for exc in rejected:
        _log.error(
            "jql_rejected_by_jira",
            instance=getattr(event, "instance", None),
            jql=exc.jql,
            reason=exc.reason,
            fix="correct the rule's JQL (pdjira jql check); the rule is refused until then",
        )
        if callable(refuse):
            refuse(getattr(event, "instance", ""), exc.jql, exc.reason)
    return rules.current()


async def _actor(broker: NatsBroker, lookup: UserLookup | None) -> UserReply | None:
    """Whether the person who acted is linked (before any echo mark is consumed: a lookup
    mapping cannot answer now is retried, never read as "not linked")."""
    if lookup is None:
        return None
    with _mapping_must_answer("user lookup"):
        reply = await lookup_user(broker, lookup)
    if reply.error is not None:
        raise Retryable(f"user lookup failed: {reply.error}")
    return reply


async def _wait_while_link_pending(
    deciding: Deciding, event: Event, link: Link | None, arrived: datetime
) -> None:
    if link is not None:
        return
    now = datetime.now(UTC)
    made_by = creation_mark_key(event)
    if made_by is not None:
        # pdjira is making this very entity: its link is on the way (see link_wait).
        pending = await deciding.pending.get(made_by)
        what = "event"
        made = link_gate(
            event, link, pending, arrived=arrived, now=now, limit=deciding.link_wait, what=what
        )
        if isinstance(made, WaitForLink):
            raise WaitForPrerequisite(made.reason)
        # Past the bound it is decided as it is: the writers find what they made by label
        # or incident_key, so nothing is made twice on the side it came from.
    if not awaits_link(event, link):
        return
    pending = await deciding.pending.get(pending_key(event))
    gate = link_gate(event, link, pending, arrived=arrived, now=now, limit=deciding.link_wait)
    if isinstance(gate, WaitForLink):
        raise WaitForPrerequisite(gate.reason)  # the lane waits; other entities flow
    if isinstance(gate, NeverLinked):
        raise Unprocessable(gate.reason)  # to the DLQ at once, replayable


@contextmanager
def _mapping_must_answer(what: str) -> Iterator[None]:
    """No answer from mapping is retried, never guessed: assuming "no link" would create a
    second issue, "not an echo" is how loops start, "not synced" mirrors a note twice."""
    try:
        yield
    except MappingUnavailable as exc:
        raise Retryable(f"{what} failed: {exc}") from exc


async def _link(broker: NatsBroker, event: Event) -> Link | None:
    with _mapping_must_answer("link lookup"):
        if isinstance(event, IncidentEvent):
            return await link_of_incident(broker, event.incident)
        return await link_of_issue(broker, event.instance, event.issue_id)


async def _echoes(broker: NatsBroker, event: Event, link: Link | None) -> frozenset[str]:
    """The fields of ``event`` that are echoes of our own writes (their marks are consumed)."""
    matched: set[str] = set()
    with _mapping_must_answer("echo check"):
        for probe in echo_probes(event, link):
            if await consume_echo(broker, probe):
                matched.add(probe.field)
    return frozenset(matched)


async def _synced_as(broker: NatsBroker, event: Event, link: Link | None) -> str | None:
    """The comment (note) the event's note (comment) already has, if any."""
    probe = pair_probe(event, link)
    if probe is None:
        return None
    with _mapping_must_answer("pair lookup"):
        reply = await lookup_pair(broker, probe)
    return reply.comment_id if probe.note_id is not None else reply.note_id


async def _jira_answers(
    jql: JqlAsker | None, event: Event, questions: Sequence[str]
) -> tuple[Mapping[str, bool], tuple[JqlRejected, ...]]:
    if jql is None or isinstance(event, IncidentEvent):
        return {}, ()
    answers: dict[str, bool] = {}
    rejected: list[JqlRejected] = []
    for q in questions:
        try:
            answers[q] = await jql.ask(event.instance, event.key, q, as_of=event.timestamp_ms)
        except JqlRejected as exc:
            rejected.append(exc if exc.jql else JqlRejected(exc.reason, jql=q))
    return answers, tuple(rejected)


async def _send(
    deciding: Deciding, event: Event, decision: Decision, *, arrived: datetime | None = None
) -> None:
    broker = deciding.broker
    now = datetime.now(UTC)
    # The event's store time rides on its commands: the writers measure the sync latency from it.
    stored_at = {EVENT_STORED_AT_HEADER: f"{arrived.timestamp():.3f}"} if arrived else None
    # Marks before their creates: an event after the create must find the mark.
    for key, mark in pending_marks(decision.commands, sent_at=now):
        await deciding.pending.mark(key, mark)
    # Commands before the audit record: an audit record means its commands are stored.
    for command in decision.commands:
        await publish(
            broker,
            command,
            command_subject(command),
            stream=streams.COMMANDS,
            msg_id=command.command_id,
            correlation_id=event.correlation_id,
            headers=stored_at,
        )
    record = audit_record(
        event, decision, recorded_at=now.isoformat(), refused=refused_of(deciding.rules)
    )
    await publish(
        broker,
        record,
        subjects.audit(event.correlation_id),
        stream=streams.AUDIT,
        msg_id=audit_msg_id(record),
        correlation_id=event.correlation_id,
    )
    deciding.metrics.observe(record, origin=event.origin)
    _log.info(
        "decided",
        origin=event.origin,
        event_type=record.event_type,
        entity=record.entity,
        summary=record.summary,
        commands=list(record.command_ids),
    )
