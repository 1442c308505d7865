"""Prometheus metrics of the jira-writer (served at /metrics)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

__all__ = ["JiraWriterMetrics"]


@dataclass(frozen=True, slots=True)
class JiraWriterMetrics:
    registry: CollectorRegistry
    jira_requests: Counter
    outcomes: Counter

    @classmethod
    def create(cls) -> JiraWriterMetrics:
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            jira_requests=Counter(
                "pdjira_jira_requests",
                "Requests to Jira, by instance, method and HTTP status ('error': no answer)",
                ["instance", "method", "status"],
                registry=registry,
            ),
            outcomes=Counter(
                "pdjira_jira_writer_outcomes",
                "Commands applied, by outcome kind",
                ["outcome"],
                registry=registry,
            ),
        )
