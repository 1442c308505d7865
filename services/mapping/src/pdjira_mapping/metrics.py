"""Prometheus metrics of the mapping service (served at /metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from pdjira_common.delivery_metrics import DeliveryMetrics
from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["MappingMetrics"]


@dataclass(frozen=True, slots=True)
class MappingMetrics:
    registry: CollectorRegistry
    links_recorded: Counter
    lookups: Counter
    requests: Counter
    links_in_memory: Gauge
    delivery: DeliveryMetrics  # pdjira_retries_total, pdjira_dead_letters_total (consumer=mapping)

    @classmethod
    def create(cls) -> MappingMetrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            links_recorded=Counter(
                "pdjira_mapping_links_recorded",
                "IssueLinked outcomes recorded, by verdict (created, already, conflict)",
                ["verdict"],
                registry=registry,
            ),
            lookups=Counter(
                "pdjira_mapping_lookups",
                "Link lookups answered, by result (found, missing, error)",
                ["result"],
                registry=registry,
            ),
            links_in_memory=Gauge(
                "pdjira_mapping_links_in_memory",
                "Link keys held in memory: the recently looked-up ones, a bounded LRU",
                registry=registry,
            ),
            requests=Counter(
                "pdjira_mapping_requests",
                "User, echo and pair requests answered, by request and result (ok, error)",
                ["request", "result"],
                registry=registry,
            ),
            delivery=DeliveryMetrics(registry),
        )
