"""Prometheus metrics of a writer service (served at /metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from pdjira_writer.spec import WriterSpec

__all__ = ["WriterMetrics"]


@dataclass(frozen=True, slots=True)
class WriterMetrics:
    registry: CollectorRegistry
    requests: Counter  # e.g. pdjira_jira_requests{instance, method, status}
    outcomes: Counter  # e.g. pdjira_jira_writer_outcomes{outcome}
    audit_failures: Counter  # write records (audit trail) that could not be stored

    @classmethod
    def create(cls, spec: WriterSpec) -> WriterMetrics:
        registry = CollectorRegistry()
        vendor = spec.vendor
        return cls(
            registry=registry,
            requests=Counter(
                vendor.metric,
                f"Requests to {vendor.name}, by {vendor.target}, method and HTTP status "
                "('error': no answer)",
                [vendor.target, "method", "status"],
                registry=registry,
            ),
            outcomes=Counter(
                "pdjira_" + spec.name.replace("-", "_") + "_outcomes",
                "Commands applied, by outcome kind",
                ["outcome"],
                registry=registry,
            ),
            audit_failures=Counter(
                "pdjira_" + spec.name.replace("-", "_") + "_audit_failures",
                "Write records (the audit trail of a command attempt) that could not be stored; "
                "the writes themselves went on",
                registry=registry,
            ),
        )
