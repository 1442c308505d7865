"""Kubernetes probes: readiness on /health, liveness an HTTP check on /live (not a TCP check,
which passes while the process is up but stuck without NATS for good)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


def containers() -> list[dict[str, Any]]:
    docs = yaml.safe_load_all((K8S / "base" / "services.yaml").read_text())
    return [
        c
        for d in docs
        if d["kind"] == "Deployment"
        for c in d["spec"]["template"]["spec"]["containers"]
    ]


def test_liveness_is_an_http_check_of_live_and_readiness_of_health() -> None:
    found = containers()
    assert len(found) == 5
    for container in found:
        live = container["livenessProbe"]
        assert "tcpSocket" not in live
        assert live["httpGet"] == {"path": "/live", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
