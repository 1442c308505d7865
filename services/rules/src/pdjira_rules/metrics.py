"""Prometheus metrics of the rules service, in a registry per app."""

from __future__ import annotations

from dataclasses import dataclass, field

from pdjira_common.contracts import AuditRecord
from prometheus_client import CollectorRegistry, Counter

__all__ = ["RulesMetrics"]

_ORIGINS = frozenset({"webhook", "reconcile"})


@dataclass
class RulesMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.decisions = Counter(
            "pdjira_rules_decisions",
            "Events decided, by event type and whether any rule produced a command.",
            ["event_type", "matched"],
            registry=self.registry,
        )
        self.verdicts = Counter(
            "pdjira_rules_verdicts",
            "Rule verdicts, by rule and matched/skipped.",
            ["rule", "matched"],
            registry=self.registry,
        )
        self.origins = Counter(
            "pdjira_rules_events",
            "Events decided, by origin: webhook, or reconcile (recovered by the poller).",
            ["origin"],
            registry=self.registry,
        )

    def observe(self, record: AuditRecord, *, origin: str = "webhook") -> None:
        # A label value per known origin only: the series stay bounded.
        self.origins.labels(origin=origin if origin in _ORIGINS else "other").inc()
        matched = "true" if record.command_ids else "false"
        self.decisions.labels(event_type=record.event_type, matched=matched).inc()
        for verdict in record.verdicts:
            self.verdicts.labels(rule=verdict.rule, matched=str(verdict.matched).lower()).inc()
