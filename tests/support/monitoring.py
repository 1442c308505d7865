"""The metric names the monitoring manifests refer to (deploy/k8s/monitoring), found by parsing
every alert expression and dashboard query with a real PromQL parser; and the names a
``/metrics`` scrape exposes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import yaml
from prometheus_client.parser import text_string_to_metric_families

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "monitoring"
RULES = MONITORING / "prometheus-rules.yaml"
DASHBOARD = MONITORING / "grafana-dashboard.json"

# Grafana's own variables, as Grafana substitutes them before the query reaches Prometheus.
_GRAFANA_VARIABLES = {"$__rate_interval": "2m", "$__range": "6h", "$__interval": "30s"}


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["spec"]["groups"] for rule in group["rules"]]


def dashboard_queries() -> Iterator[tuple[str, str]]:
    """(panel title, query) of every panel target."""
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], grafana_expanded(target["expr"])


def grafana_expanded(query: str) -> str:
    for variable, value in _GRAFANA_VARIABLES.items():
        query = query.replace(variable, value)
    return query


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (raises ValueError when it does not parse)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def referenced_metrics() -> dict[str, set[str]]:
    """Every metric name the alerts and the dashboard use -> where."""
    used: dict[str, set[str]] = {}
    for rule in alert_rules():
        for name in metric_names(rule["expr"]):
            used.setdefault(name, set()).add(f"alert {rule['alert']}")
    for title, query in dashboard_queries():
        for name in metric_names(query):
            used.setdefault(name, set()).add(f"panel {title!r}")
    return used


_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
}


def exposed_metrics(text: str) -> set[str]:
    """The series names a scrape declares: its samples, and for a family without samples yet (a
    labelled counter nothing incremented) the names its samples will have."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(sample.name for sample in family.samples)
        names.add(family.name)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
    return names


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")
