"""Prometheus metrics of a writer service (served at /metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from pdjira_common.delivery_metrics import DeliveryMetrics
from pdjira_common.stream_metrics import StreamGauges
from prometheus_client import CollectorRegistry, Counter, Histogram

from pdjira_writer.spec import WriterSpec
from pdjira_writer.vendor_metrics import VendorCallMetrics

__all__ = ["SYNC_BUCKETS", "WriterMetrics"]

# Seconds from the source event stored in EVENTS to its write done at the vendor: about a
# second normally; minutes when a command waited for its prerequisite, the budget or a retry.
SYNC_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)


@dataclass(frozen=True, slots=True)
class WriterMetrics:
    registry: CollectorRegistry
    requests: Counter  # e.g. pdjira_jira_requests{instance, method, status}
    outcomes: Counter  # e.g. pdjira_jira_writer_outcomes{outcome}
    audit_failures: Counter  # write records (audit trail) that could not be stored
    # Vendor calls by target/operation/status with their latency; each target's rate budget.
    vendor_calls: VendorCallMetrics
    # pdjira_sync_latency_seconds{command}: source event stored -> this write done.
    sync_seconds: Histogram
    delivery: DeliveryMetrics
    streams: StreamGauges

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
            vendor_calls=VendorCallMetrics(registry, vendor=vendor.name.lower()),
            sync_seconds=Histogram(
                "pdjira_sync_latency_seconds",
                "End-to-end sync latency: from the source event stored in EVENTS (the webhook "
                "received, or the change recovered by reconciliation) to the write it caused "
                "done at the vendor, by command kind. Replayed dead letters are not counted.",
                ["command"],
                registry=registry,
                buckets=SYNC_BUCKETS,
            ),
            delivery=DeliveryMetrics(registry),
            streams=StreamGauges(registry),
        )
