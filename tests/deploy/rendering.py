"""The overlays as Kubernetes receives them: ``kubectl kustomize`` (kustomize built into
kubectl) renders them. kubectl is required: CI has it; without it the tests fail saying so
(rather than skip: a manifest that does not render must not pass unnoticed)."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
Obj = dict[str, Any]


@cache
def _render(overlay: str) -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "kubectl is not on PATH: these tests render deploy/k8s/overlays/* with "
            "`kubectl kustomize`; install kubectl (https://kubernetes.io/docs/tasks/tools/)"
        )
    done = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"kubectl kustomize overlays/{overlay} failed:\n{done.stderr}")
    return done.stdout


def render(overlay: str) -> list[Obj]:
    """Every object of the rendered overlay (fresh copies: a test may change them)."""
    return [d for d in yaml.safe_load_all(_render(overlay)) if d]


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[Obj], kind: str, name: str) -> Obj:
    [found] = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def rendered_config(objects: list[Obj]) -> Obj:
    """The pdjira config the pods mount (the generated ConfigMap's config.yaml)."""
    # (The monitoring ConfigMap holding the Grafana dashboard is another.)
    [config_map] = [
        c
        for c in of_kind(objects, "ConfigMap")
        if c["metadata"]["name"].startswith("pdjira-config")
    ]
    config: Obj = yaml.safe_load(config_map["data"]["config.yaml"])
    return config
