"""Thin NATS handlers: record links from outcomes, answer link lookups."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from pdjira_common import streams, subjects
from pdjira_common.config import RetrySettings
from pdjira_common.contracts import (
    IssueLinked,
    Link,
    LinkQuery,
    LinkReply,
    decode_outcome,
    encode,
)
from pdjira_common.logging import get_logger

from pdjira_mapping.links import Verdict
from pdjira_mapping.metrics import MappingMetrics
from pdjira_mapping.store import KvLinkStore, Recorded

__all__ = ["CONSUMER", "QUEUE_GROUP", "answer_lookup", "record_outcome", "register"]

CONSUMER = "mapping"
QUEUE_GROUP = "mapping"  # replicas share the lookups
_query_decoder = msgspec.json.Decoder(LinkQuery)
_log = get_logger(__name__)


def link_from(outcome: IssueLinked) -> Link:
    return Link(
        incident=outcome.incident, issue=outcome.issue, created_at=datetime.now(UTC).isoformat()
    )


async def record_outcome(store: KvLinkStore, data: bytes) -> Recorded | None:
    """Record the link an ``IssueLinked`` outcome announces; other outcomes need nothing."""
    try:
        outcome = decode_outcome(data)
    except msgspec.ValidationError as exc:
        # Outcomes of kinds this version does not know (added later by other services) land
        # here too; retrying would not help either way.
        _log.warning("outcome_ignored", reason=f"cannot decode outcome: {exc}")
        return None
    if not isinstance(outcome, IssueLinked):
        return None
    recorded = await store.record(link_from(outcome))
    if recorded.verdict is Verdict.CONFLICT:
        existing = recorded.existing
        _log.error(
            "link_conflict",
            key=recorded.key,
            incident=f"{outcome.incident.account}/{outcome.incident.incident_id}",
            rejected_issue=f"{outcome.issue.instance}/{outcome.issue.key}",
            kept_issue=f"{existing.issue.instance}/{existing.issue.key}" if existing else None,
            kept_incident=(
                f"{existing.incident.account}/{existing.incident.incident_id}" if existing else None
            ),
            hint="two issues claim one incident (or the reverse); the first link is kept, "
            "the other issue is a duplicate to close by hand",
        )
    else:
        _log.info(
            "link_recorded",
            verdict=recorded.verdict.value,
            incident=f"{outcome.incident.account}/{outcome.incident.incident_id}",
            issue=f"{outcome.issue.instance}/{outcome.issue.key}",
        )
    return recorded


async def answer_lookup(store: KvLinkStore, data: bytes) -> tuple[bytes, str]:
    """The reply to a lookup and its result label; an empty reply means "could not answer"."""
    try:
        query = _query_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        _log.warning("lookup_refused", reason=f"not a LinkQuery: {exc}")
        return b"", "error"
    try:
        if query.incident is not None:
            link = await store.by_incident(query.incident)
        elif query.instance is not None and query.issue_id is not None:
            link = await store.by_issue(query.instance, query.issue_id)
        else:
            _log.warning("lookup_refused", reason="give either incident, or instance and issue_id")
            return b"", "error"
    except Exception as exc:  # the requester gets an empty reply and retries; never "no link"
        _log.exception("lookup_failed", reason=f"{type(exc).__name__}: {exc}")
        return b"", "error"
    return encode(LinkReply(link=link)), "found" if link else "missing"


def register(
    broker: NatsBroker, store: KvLinkStore, metrics: MappingMetrics, retry: RetrySettings
) -> None:
    """Attach the outcome consumer and the lookup responder to ``broker``."""

    @broker.subscriber(
        subjects.ALL_OUTCOMES,
        stream=JStream(streams.OUTCOMES, declare=False),
        durable=CONSUMER,
        # One at a time: of two different links for one incident, the earlier in the stream
        # wins, which makes conflicts reproducible. Links are rare; throughput is not at stake.
        pull_sub=PullSub(batch_size=1),
        config=ConsumerConfig(ack_wait=retry.ack_wait),
    )
    async def on_outcome(message: NatsMessage) -> None:
        recorded = await record_outcome(store, message.body)
        if recorded is not None:
            metrics.links_recorded.labels(recorded.verdict.value).inc()

    @broker.subscriber(subjects.LINK_LOOKUP, queue=QUEUE_GROUP)
    async def on_lookup(message: NatsMessage) -> bytes:
        # Core request/reply: errors must not escape to the retry middleware (it handles
        # JetStream messages only); answer_lookup turns every failure into an empty reply.
        reply, result = await answer_lookup(store, message.body)
        metrics.lookups.labels(result).inc()
        return reply
