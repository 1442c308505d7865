"""The stack as the rendered dev overlay runs it: each service started with exactly the command,
arguments and environment its Deployment gives it, the config from the rendered ConfigMap.

What a cluster would provide is provided locally, and only that: the ConfigMap volume is a
directory holding its ``config.yaml`` (mount paths in arguments and environment map to it), the
Secret ``pdjira-secrets`` is the environment the test sets, ``fieldRef: metadata.name`` is a pod
name, ``python`` is this virtual environment's interpreter (the image's PATH starts with its
venv). In the config only addresses change: NATS, the listen hosts/ports, the vendors' URLs
(the simulators) and ingest's public URL."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import yaml
from pdjira_devstack.process import ManagedProcess
from pdjira_devstack.stack import ACCOUNT, INSTANCE, SERVICES, Stack, StackSettings

from .rendering import Obj, named, of_kind, pod_spec, render, rendered_config

SECRET = "pdjira-secrets"


class RenderedStack(Stack):
    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir, StackSettings())
        self.objects = render("dev")
        self.env["JIRA_PAT"] = secrets.token_hex(16)
        self.config_dir = workdir / "etc-pdjira"  # the ConfigMap volume
        self.config_path = self.config_dir / "config.yaml"

    def deployment(self, service: str) -> Obj:
        return named(self.objects, "Deployment", f"pdjira-{service}")

    def config(self) -> dict[str, Any]:
        config = rendered_config(self.objects)
        config["nats"]["url"] = self.nats.url
        for name, (_, key) in SERVICES.items():
            config["listen"][key] = {"host": "127.0.0.1", "port": self.ports[name]}
        [account] = config["pagerduty_accounts"]
        assert account["id"] == ACCOUNT
        account["api_url"] = self.pd_url
        [instance] = config["jira_instances"]
        assert instance["id"] == INSTANCE
        instance["base_url"] = self.jira_url
        config["ingest"]["public_url"] = self.url("ingest")
        return config

    def write_config(self) -> Path:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        return self.config_path

    def _simulators(self) -> list[ManagedProcess]:
        pd, jira = super()._simulators()
        jira.args.append("--token=" + self.env["JIRA_PAT"])  # the config's auth: a PAT
        return [pd, jira]

    def _local_path(self, value: str, mounts: dict[str, Path]) -> str:
        for mount, local in mounts.items():
            if value == mount or value.startswith(mount + "/"):
                return str(local) + value[len(mount) :]
        return value

    def _services(self) -> list[ManagedProcess]:
        processes = []
        configmap = of_kind(self.objects, "ConfigMap")[0]["metadata"]["name"]
        for name in SERVICES:
            pod = pod_spec(self.deployment(name))
            [container] = pod["containers"]
            volumes = {v["name"]: v for v in pod["volumes"]}
            mounts: dict[str, Path] = {}
            for mount in container["volumeMounts"]:
                volume = volumes[mount["name"]]
                if "configMap" in volume:
                    assert volume["configMap"]["name"] == configmap
                    mounts[mount["mountPath"]] = self.config_dir
            command = container["command"]
            assert command[:2] == ["python", "-m"], command
            args = [self._local_path(a, mounts) for a in [*command[3:], *container["args"]]]
            env: dict[str, str] = {}
            for entry in container.get("env", []):
                source = entry.get("valueFrom", {})
                if "value" in entry:
                    env[entry["name"]] = self._local_path(entry["value"], mounts)
                elif "secretKeyRef" in source:
                    assert source["secretKeyRef"]["name"] == SECRET
                    env[entry["name"]] = self.env[source["secretKeyRef"]["key"]]
                elif source.get("fieldRef", {}).get("fieldPath") == "metadata.name":
                    env[entry["name"]] = f"pdjira-{name}-0"
                else:
                    raise AssertionError(f"{name}: no local stand-in for env {entry}")
            probe = container["readinessProbe"]["httpGet"]
            [port] = [p["containerPort"] for p in container["ports"] if p["name"] == probe["port"]]
            # The rendered config listens on the port the pod exposes (locally: a free port).
            assert port == rendered_config(self.objects)["listen"][SERVICES[name][1]]["port"]
            processes.append(
                ManagedProcess(
                    name,
                    command[2],
                    args,
                    health_url=f"{self.url(name)}{probe['path']}",
                    log_file=self.logs / f"{name}.log",
                    env=env,
                )
            )
        return processes  # ManagedProcess runs ``python`` as sys.executable (this venv's)
