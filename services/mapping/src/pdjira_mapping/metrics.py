"""Prometheus metrics of the mapping service (served at /metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

__all__ = ["MappingMetrics"]


@dataclass(frozen=True, slots=True)
class MappingMetrics:
    registry: CollectorRegistry
    links_recorded: Counter
    lookups: Counter

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
        )
