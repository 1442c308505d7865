"""The Kubernetes manifests run every service with a configuration pdjira accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pdjira_common.config import parse_config
from pdjira_devstack.stack import SERVICES
from pdjira_rules.rule_loading import load_config_rules

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


@pytest.fixture(autouse=True)
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PD_TOKEN", "PD_WEBHOOK_SECRET", "JIRA_PAT", "JIRA_WEBHOOK_SECRET"):
        monkeypatch.setenv(name, f"value-of-{name}")


def deployments() -> dict[str, dict[str, Any]]:
    docs = yaml.safe_load_all((K8S / "base" / "services.yaml").read_text())
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}


def test_every_service_has_a_deployment_running_its_module() -> None:
    found = deployments()
    for name, (module, _) in SERVICES.items():
        deployment = found[f"pdjira-{name}"]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", module]
        assert container["args"] == ["--config", "/etc/pdjira/config.yaml"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"


def test_base_config_is_valid_and_ports_match_the_deployments() -> None:
    config = parse_config(yaml.safe_load((K8S / "base" / "config.yaml").read_text()))
    found = deployments()
    for name, (_, key) in SERVICES.items():
        [container] = found[f"pdjira-{name}"]["spec"]["template"]["spec"]["containers"]
        assert container["ports"][0]["containerPort"] == getattr(config.listen, key).port


def test_production_overlay_config_is_valid_and_replicated() -> None:
    kustomization = yaml.safe_load(
        (K8S / "overlays" / "production" / "kustomization.yaml").read_text()
    )
    [patch] = [p for p in kustomization["patches"] if p["target"]["kind"] == "ConfigMap"]
    [op] = yaml.safe_load(patch["patch"])
    config = parse_config(yaml.safe_load(op["value"]))
    assert config.nats.replicas == 3
    assert config.instance("main").base_url.startswith("https://")


def test_base_config_pagerduty_rules_load() -> None:
    config = parse_config(yaml.safe_load((K8S / "base" / "config.yaml").read_text()))
    accounts = [a.id for a in config.pagerduty_accounts]
    instances = [i.id for i in config.jira_instances]
    [rule] = load_config_rules(config.pagerduty_rules, accounts, instances)
    assert rule.id == "cfg-sev1-pages-from-jira-bugs"
    assert (rule.wrapped.account, rule.wrapped.instance) == ("main", "main")
