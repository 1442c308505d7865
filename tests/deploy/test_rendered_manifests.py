"""Both overlays, rendered by ``kubectl kustomize``: every object is valid against the Kubernetes
JSON schemas (kubernetes-validate; the CRDs it has no schema for — KEDA's ScaledObject,
Prometheus Operator's ServiceMonitor and PrometheusRule — checked structurally here), and our
policies hold: probes, limits, hardened pods, a PDB per Deployment, default-deny NetworkPolicy,
no inline secret, images pinned by tag."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest
from pdjira_common.config import parse_config
from pdjira_common.partitions import units
from pdjira_common.subjects import ALL_COMMANDS_JIRA, ALL_COMMANDS_PD, ALL_EVENTS

from .rendering import OVERLAYS, Obj, named, of_kind, pod_spec, render, rendered_config

K8S_VERSION = "1.30"  # the oldest Kubernetes we support
SERVICES = ("ingest", "rules", "jira-writer", "pd-writer", "mapping")
CRDS: dict[str, tuple[str, tuple[str, ...]]] = {
    # kind -> (apiVersion, required spec fields)
    "ScaledObject": ("keda.sh/v1alpha1", ("scaleTargetRef", "triggers")),
    "ServiceMonitor": ("monitoring.coreos.com/v1", ("selector", "endpoints")),
    "PrometheusRule": ("monitoring.coreos.com/v1", ("groups",)),
    "PodMonitor": ("monitoring.coreos.com/v1", ("selector", "podMetricsEndpoints")),
}


@pytest.fixture(autouse=True)
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PD_TOKEN", "PD_WEBHOOK_SECRET", "JIRA_PAT", "JIRA_WEBHOOK_SECRET"):
        monkeypatch.setenv(name, f"value-of-{name}")


SECRET_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")


def workloads(objects: list[Obj]) -> list[Obj]:
    return of_kind(objects, "Deployment") + of_kind(objects, "Job")


def containers(objects: list[Obj]) -> list[Obj]:
    return [
        c
        for w in workloads(objects)
        for c in pod_spec(w).get("initContainers", []) + pod_spec(w)["containers"]
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_against_the_kubernetes_schemas(overlay: str) -> None:
    objects = render(overlay)
    assert objects
    for obj in objects:
        kind = obj["kind"]
        if kind in CRDS:
            api_version, required = CRDS[kind]
            assert obj["apiVersion"] == api_version, obj["metadata"]
            assert obj["metadata"]["name"]
            missing = [f for f in required if f not in obj.get("spec", {})]
            assert not missing, f"{kind} {obj['metadata']['name']} lacks spec.{missing}"
            continue
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay}: {kind} {obj['metadata']['name']}: {exc.message}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_probes_limits_and_a_hardened_context(overlay: str) -> None:
    objects = render(overlay)
    deployments = of_kind(objects, "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {f"pdjira-{s}" for s in SERVICES}
    for workload in workloads(objects):
        name = workload["metadata"]["name"]
        pod = pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod.get("automountServiceAccountToken") is False, name
        writable = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert "memory" in resources["limits"], name
            # a read-only root: /tmp is an emptyDir
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in writable, name
            if workload["kind"] == "Deployment":
                assert container["livenessProbe"]["httpGet"]["path"] == "/live", name
                assert container["readinessProbe"]["httpGet"]["path"] == "/health", name
        if workload["kind"] == "Deployment":
            keys = {t["topologyKey"] for t in pod["topologySpreadConstraints"]}
            assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_has_a_disruption_budget(overlay: str) -> None:
    objects = render(overlay)
    budgets = of_kind(objects, "PodDisruptionBudget")
    for deployment in of_kind(objects, "Deployment"):
        labels = deployment["spec"]["selector"]["matchLabels"]
        matching = [b for b in budgets if b["spec"]["selector"]["matchLabels"] == labels]
        assert len(matching) == 1, deployment["metadata"]["name"]
        assert matching[0]["spec"].get("maxUnavailable") == 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_inline_secret_and_every_config_secret_is_a_reference(overlay: str) -> None:
    objects = render(overlay)
    for secret in of_kind(objects, "Secret"):
        assert not secret.get("data"), secret["metadata"]
        assert not secret.get("stringData"), secret["metadata"]
    needed = set(SECRET_ENV.findall(str(rendered_config(objects))))
    assert needed == {"PD_TOKEN", "PD_WEBHOOK_SECRET", "JIRA_PAT", "JIRA_WEBHOOK_SECRET"}
    for container in containers(objects):
        env = {e["name"]: e for e in container.get("env", [])}
        for name in needed:
            ref = env[name]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": "pdjira-secrets", "key": name}, container["name"]
        for entry in env.values():
            assert "value" not in entry or entry["name"] not in needed
            assert "secretKeyRef" in entry.get("valueFrom", {}) or not re.search(
                r"TOKEN|SECRET|PASSWORD|PAT$", entry["name"]
            ), f"{container['name']}: {entry['name']} is not a secret reference"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_images_are_pinned_by_tag(overlay: str) -> None:
    for container in containers(render(overlay)):
        image = container["image"]
        repository, _, tag = image.rpartition(":")
        assert repository == "ghcr.io/pdjira/pdjira", image
        assert tag not in ("", "latest"), image
        assert "/" not in tag, image


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_default_deny_and_only_writers_reach_out(overlay: str) -> None:
    policies = {p["metadata"]["name"]: p["spec"] for p in of_kind(render(overlay), "NetworkPolicy")}
    deny = policies["pdjira-default-deny"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny
    assert "egress" not in deny
    outside: list[str] = []  # policies that open egress to the world
    from_outside: list[Any] = []  # policies that let traffic in from another namespace
    for name, spec in policies.items():
        for rule in spec.get("egress", []):
            if any("ipBlock" in peer for peer in rule.get("to", [])):
                outside.append(name)
                assert {p["port"] for p in rule["ports"]} == {443, 80}
        for rule in spec.get("ingress", []):
            from_outside.append((spec["podSelector"], rule["from"]))
    assert outside == ["pdjira-writers-to-vendors"]
    writers = policies["pdjira-writers-to-vendors"]["podSelector"]["matchExpressions"]
    assert {"key": "app.kubernetes.io/component", "operator": "In",
            "values": ["jira-writer", "pd-writer"]} in writers  # fmt: skip
    ingress_sources = {
        (
            selector.get("matchLabels", {}).get("app.kubernetes.io/component", "every pod"),
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        )
        for selector, peers in from_outside
        for peer in peers
    }
    assert ingress_sources == {("ingest", "ingress-nginx"), ("every pod", "monitoring")}
    nats = policies["pdjira-dns-and-nats"]
    assert nats["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "pdjira"}}
    assert any(p["port"] == 4222 for rule in nats["egress"] for p in rule["ports"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_exposes_only_the_webhooks(overlay: str) -> None:
    [ingress] = of_kind(render(overlay), "Ingress")
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert {p["path"] for p in paths} == {"/webhooks/pagerduty/", "/webhooks/jira/"}
    assert {p["backend"]["service"]["name"] for p in paths} == {"pdjira-ingest"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_bootstrap_job_declares_the_topology_from_the_mounted_config(overlay: str) -> None:
    objects = render(overlay)
    job = named(objects, "Job", "pdjira-nats-bootstrap")
    [container] = pod_spec(job)["containers"]
    assert container["command"] + container["args"] == [
        "pdjira", "nats", "bootstrap", "--config", "/etc/pdjira/config.yaml",
    ]  # fmt: skip
    volumes = {v["name"]: v for v in pod_spec(job)["volumes"]}
    mounted = volumes["config"]["configMap"]["name"]
    assert mounted.startswith("pdjira-config")  # the generated one (hash suffix)
    assert mounted in {c["metadata"]["name"] for c in of_kind(objects, "ConfigMap")}


def test_dev_runs_one_replica_each_on_a_single_nats() -> None:
    objects = render("dev")
    assert {d["spec"]["replicas"] for d in of_kind(objects, "Deployment")} == {1}
    assert parse_config(rendered_config(objects)).nats.replicas == 1
    assert not of_kind(objects, "ScaledObject")


def test_production_scales_rules_and_writers_on_the_lag_of_every_partition() -> None:
    objects = render("production")
    config = parse_config(rendered_config(objects))
    assert config.nats.replicas == 3
    assert {d["spec"]["replicas"] for d in of_kind(objects, "Deployment")} == {1, 3}
    scaled = {
        s["spec"]["scaleTargetRef"]["name"]: s["spec"] for s in of_kind(objects, "ScaledObject")
    }
    expected = {
        "pdjira-rules": ("EVENTS", "rules", ALL_EVENTS),
        "pdjira-jira-writer": ("COMMANDS", "jira-writer", ALL_COMMANDS_JIRA),
        "pdjira-pd-writer": ("COMMANDS", "pd-writer", ALL_COMMANDS_PD),
    }
    assert set(scaled) == set(expected)
    for target, (stream, durable, subject) in expected.items():
        spec = scaled[target]
        assert spec["maxReplicaCount"] <= config.nats.partitions
        assert spec["minReplicaCount"] >= 2
        triggers = spec["triggers"]
        assert {t["type"] for t in triggers} == {"nats-jetstream"}
        assert {t["metadata"]["stream"] for t in triggers} == {stream}
        consumers = sorted(t["metadata"]["consumer"] for t in triggers)
        assert consumers == sorted(
            u.durable for u in units(durable, subject, config.nats.partitions)
        )
    # The writers' fallback budget split covers the most writer replicas KEDA may run.
    most = max(scaled[w]["maxReplicaCount"] for w in ("pdjira-jira-writer", "pdjira-pd-writer"))
    assert config.writers.replicas >= most
