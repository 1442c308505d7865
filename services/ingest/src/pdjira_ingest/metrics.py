"""Prometheus metrics of ingest, in a registry per app (tests build several apps)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram

# Children of a labelled metric, looked up once: ``.labels()`` costs microseconds per call (label
# validation, a lock, a dict of tuples), paid on every webhook otherwise. The label sets are
# bounded (stable codes), so the caches are too.
_Key = tuple[str, str, str]

__all__ = ["IngestMetrics"]


@dataclass
class IngestMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        # `outcome` is accepted | duplicate | ignored | rejected | failed; `reason` is a stable
        # code (e.g. invalid_signature, unknown_account, stored), never free text: bounded labels.
        self.webhooks = Counter(
            "pdjira_ingest_webhooks",
            "Webhook deliveries by source, outcome and reason.",
            ["source", "outcome", "reason"],
            registry=self.registry,
        )
        self.store_seconds = Histogram(
            "pdjira_ingest_store_seconds",
            "Time to store an event in JetStream (publish until PubAck).",
            ["source"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )

        # The reconciliation poller: `source` pagerduty | jira; `outcome` of a poll ok | failed;
        # of an event published | duplicate (its webhook or an earlier poll stored it) |
        # repaired; `reason` of an error a stable code.
        self.reconcile_polls = Counter(
            "pdjira_ingest_reconcile_polls",
            "Reconciliation polls by source and outcome.",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.reconcile_events = Counter(
            "pdjira_ingest_reconcile_events",
            "Synthetic events of the reconciliation poller by source and outcome.",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.reconcile_errors = Counter(
            "pdjira_ingest_reconcile_errors",
            "Reconciliation errors by source and reason (retried on the next poll).",
            ["source", "reason"],
            registry=self.registry,
        )

        self._webhook_children: dict[_Key, Counter] = {}
        self._store_children: dict[str, Histogram] = {}

    def count(self, source: str, outcome: str, reason: str) -> None:
        key = (source, outcome, reason)
        child = self._webhook_children.get(key)
        if child is None:
            child = self.webhooks.labels(source=source, outcome=outcome, reason=reason)
            self._webhook_children[key] = child
        child.inc()

    def observe_store(self, source: str, seconds: float) -> None:
        """One store's time (publish until PubAck) in ``store_seconds``."""
        child = self._store_children.get(source)
        if child is None:
            child = self._store_children[source] = self.store_seconds.labels(source=source)
        child.observe(seconds)
