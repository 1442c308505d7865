"""Vendor calls as Prometheus metrics: a latency histogram by target, operation and status, and
each target's rate budget (the headroom is that rate minus the calls' rate).

``operation`` is the call's route template as a name, never a path with ids:
``POST /rest/api/2/issue/OPS-1/transitions`` -> ``post_issue_id_transitions``,
``PUT /incidents/PABC123`` -> ``put_incidents_id``. Past ``MAX_OPERATIONS`` distinct names (a
vendor API used in a new way) a call is counted as ``other``."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from pdjira_common.metric_labels import OTHER
from prometheus_client import CollectorRegistry, Gauge, Histogram

__all__ = ["MAX_OPERATIONS", "VendorCallMetrics", "operation_of"]

MAX_OPERATIONS = 100
# Seconds: vendor calls take tens of ms to a few s; the client's timeout bounds them.
CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_WORD = re.compile(r"^[a-z][a-z_]*$")  # a route's own words; ids have digits or capitals
_API_PREFIX = re.compile(r"^/?rest/(?:[a-z]+/)*(?:api|agile)/(?:\d+|latest)(?=/|$)")


def operation_of(method: str, path: str) -> str:
    """The bounded name of a call: the method and the path's words, each id as ``id``."""
    route = _API_PREFIX.sub("", path.split("?", 1)[0])
    words = [s if _WORD.match(s) else "id" for s in route.split("/") if s]
    return "_".join([method.lower(), *words])


class VendorCallMetrics:
    """The writer's vendor-call metrics; ``vendor`` labels them (``jira``, ``pagerduty``)."""

    def __init__(self, registry: CollectorRegistry, *, vendor: str) -> None:
        self.vendor = vendor
        self.calls = Histogram(
            "pdjira_vendor_request_duration_seconds",
            "Vendor API calls, by vendor, target (configured id), operation (route template) "
            "and HTTP status ('error': no answer): latency, and their count (_count).",
            ["vendor", "target", "operation", "status"],
            registry=registry,
            buckets=CALL_BUCKETS,
        )
        self.rate = Gauge(
            "pdjira_vendor_rate_limit_requests_per_second",
            "A target's request budget now, for all writer replicas: the configured rate, "
            "lowered while the vendor announces a lower one or throttled us.",
            ["vendor", "target"],
            registry=registry,
        )
        self.configured = Gauge(
            "pdjira_vendor_rate_limit_configured_requests_per_second",
            "A target's configured request budget (rate_limit.requests_per_second).",
            ["vendor", "target"],
            registry=registry,
        )
        self._operations: set[str] = set()
        self._lock = threading.Lock()
        self._children: dict[tuple[str, str, str], Histogram] = {}

    def operation(self, method: str, path: str) -> str:
        name = operation_of(method, path)
        if name in self._operations:
            return name
        with self._lock:
            if len(self._operations) >= MAX_OPERATIONS:
                return OTHER
            self._operations.add(name)
        return name

    def observe(self, target: str, method: str, path: str, status: str, seconds: float) -> None:
        """One call's answer (``status``: the HTTP status, or ``error``) after ``seconds``."""
        key = (target, self.operation(method, path), status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.calls.labels(self.vendor, *key)
        child.observe(seconds)

    def watch_budget(self, target: str, rate: Callable[[], float], configured: float) -> None:
        """Report ``rate()`` (read at scrape time) as the target's budget."""
        self.rate.labels(self.vendor, target).set_function(rate)
        self.configured.labels(self.vendor, target).set(configured)
