"""Prometheus metrics of the pd-writer (served at /metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

__all__ = ["PdWriterMetrics"]


@dataclass(frozen=True, slots=True)
class PdWriterMetrics:
    registry: CollectorRegistry
    pd_requests: Counter
    outcomes: Counter

    @classmethod
    def create(cls) -> PdWriterMetrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            pd_requests=Counter(
                "pdjira_pagerduty_requests",
                "Requests to PagerDuty, by account, method and HTTP status ('error': no answer)",
                ["account", "method", "status"],
                registry=registry,
            ),
            outcomes=Counter(
                "pdjira_pd_writer_outcomes",
                "Commands applied, by outcome kind",
                ["outcome"],
                registry=registry,
            ),
        )
