"""Counters of what becomes of a consumer's messages when a handler fails: retried later, or
dead-lettered. ``consumer`` is the service's durable name (``jira-writer``, ``rules``): bounded;
``kind`` the retry's kind, ``wait`` (a missing prerequisite, or our own rate budget) or
``error`` (the vendor or NATS failed: backoff)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

__all__ = ["DeliveryMetrics"]


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.retries = Counter(
            "pdjira_retries",
            "Handler failures retried later, by consumer and kind (wait: a prerequisite or "
            "the rate budget; error: a failure retried with backoff).",
            ["consumer", "kind"],
            registry=registry,
        )
        self.dead_letters = Counter(
            "pdjira_dead_letters",
            "Messages sent to the DLQ, by consumer.",
            ["consumer"],
            registry=registry,
        )
        self._retry_children: dict[tuple[str, bool], Counter] = {}
        self._dead_children: dict[str, Counter] = {}

    def retried(self, consumer: str, *, waiting: bool) -> None:
        key = (consumer, waiting)
        child = self._retry_children.get(key)
        if child is None:
            kind = "wait" if waiting else "error"
            child = self._retry_children[key] = self.retries.labels(consumer=consumer, kind=kind)
        child.inc()

    def dead_lettered(self, consumer: str) -> None:
        child = self._dead_children.get(consumer)
        if child is None:
            child = self._dead_children[consumer] = self.dead_letters.labels(consumer=consumer)
        child.inc()
