"""The monitoring manifests: every alert expression and dashboard query parses as PromQL (the
Prometheus parser's grammar, in Rust: ``promql-parser``), the PrometheusRule has the shape the
Prometheus Operator and Alertmanager want, every runbook link leads to a section of
docs/operations.md, and the kustomization includes everything."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from support.monitoring import (
    DASHBOARD,
    MONITORING,
    RULES,
    alert_rules,
    dashboard_queries,
    github_anchor,
    metric_names,
    referenced_metrics,
)

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
_DURATION = re.compile(r"^\d+[smhdw]$")
_SEVERITIES = {"critical", "warning", "info"}
# What the brief asks alerts for: the DLQ growing, lag, vendor errors, webhooks silent, latency.
_EXPECTED = {
    "PdjiraDeadLettersGrowing",
    "PdjiraConsumerLagHigh",
    "PdjiraConsumerStuck",
    "PdjiraVendorErrors",
    "PdjiraVendorRateLimited",
    "PdjiraWebhooksSilent",
    "PdjiraSyncLatencyHigh",
}


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_is_well_formed(rule: dict[str, object]) -> None:
    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
    assert re.fullmatch(r"Pdjira[A-Za-z]+", str(rule["alert"]))
    assert metric_names(str(rule["expr"])), "the expression selects no pdjira metric"
    if "for" in rule:
        assert _DURATION.match(str(rule["for"])), rule["for"]
    labels = rule["labels"]
    assert isinstance(labels, dict)
    assert labels["severity"] in _SEVERITIES
    annotations = rule["annotations"]
    assert isinstance(annotations, dict)
    assert annotations["summary"]
    assert annotations["description"]


def test_the_rule_file_is_a_prometheus_rule_with_every_alert_asked_for() -> None:
    document = yaml.safe_load(RULES.read_text())
    assert document["apiVersion"] == "monitoring.coreos.com/v1"
    assert document["kind"] == "PrometheusRule"
    groups = document["spec"]["groups"]
    assert len({g["name"] for g in groups}) == len(groups)  # promtool refuses duplicate groups
    names = [rule["alert"] for rule in alert_rules()]
    assert len(set(names)) == len(names)
    assert set(names) >= _EXPECTED


def test_every_runbook_link_leads_to_its_section_of_the_operations_doc() -> None:
    headings = {
        github_anchor(line.lstrip("#"))
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith("#")
    }
    assert "alerts-and-what-to-do" in headings
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        path, _, anchor = url.partition("#")
        assert path == "docs/operations.md", url
        assert anchor == rule["alert"].lower(), url
        assert anchor in headings, f"{rule['alert']}: no section '{anchor}' in operations.md"


def test_every_dashboard_query_parses_and_uses_pdjira_metrics() -> None:
    queries = list(dashboard_queries())
    assert len(queries) >= 20
    for title, query in queries:
        names = metric_names(query)  # raises on a query Prometheus would refuse
        assert names, f"{title}: {query}"
        assert all(name.startswith("pdjira_") for name in names), (title, names)


def test_a_broken_expression_is_refused() -> None:
    with pytest.raises(ValueError, match="parenthesis"):
        metric_names("sum(rate(pdjira_retries_total[5m])")


def test_the_dashboard_has_the_panels_asked_for() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"]
    assert dashboard["title"] == "pdjira"
    used = referenced_metrics()
    for name in (
        "pdjira_ingest_webhooks_total",
        "pdjira_sync_latency_seconds_bucket",
        "pdjira_vendor_request_duration_seconds_count",
        "pdjira_vendor_request_duration_seconds_bucket",
        "pdjira_retries_total",
        "pdjira_jetstream_stream_messages",
        "pdjira_jetstream_consumer_pending_messages",
        "pdjira_vendor_rate_limit_requests_per_second",
        "pdjira_ingest_reconcile_events_total",
    ):
        assert any(w.startswith("panel") for w in used.get(name, ())), name


def test_the_kustomization_includes_every_manifest() -> None:
    kustomization = yaml.safe_load((MONITORING / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {"servicemonitors.yaml", "prometheus-rules.yaml"}
    (generator,) = kustomization["configMapGenerator"]
    assert generator["files"] == ["grafana-dashboard.json"]
    monitors = list(yaml.safe_load_all((MONITORING / "servicemonitors.yaml").read_text()))
    assert all(m["kind"] == "ServiceMonitor" for m in monitors)
    endpoint = monitors[0]["spec"]["endpoints"][0]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] == "http"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_the_monitoring_folder_renders_with_kustomize() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(MONITORING)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    objects = {(o["kind"], o["metadata"]["name"]) for o in yaml.safe_load_all(rendered)}
    assert objects == {
        ("ConfigMap", "pdjira-grafana-dashboard"),
        ("PrometheusRule", "pdjira"),
        ("ServiceMonitor", "pdjira"),
    }
    (config_map,) = (o for o in yaml.safe_load_all(rendered) if o["kind"] == "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["grafana-dashboard.json"]) == json.loads(
        DASHBOARD.read_text()
    )
