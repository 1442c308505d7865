"""The whole system on one machine: nats-server, the five services and both simulators,
each its own OS process, wired to each other on free loopback ports.

Used by ``make run`` / ``pdjira dev up`` and by the end-to-end tests.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.process import ManagedProcess
from pdjira_devstack.waiting import block_on

__all__ = ["SERVICES", "Stack", "StackSettings"]

# name -> (module, config listen key)
SERVICES: dict[str, tuple[str, str]] = {
    "mapping": ("pdjira_mapping", "mapping"),
    "rules": ("pdjira_rules", "rules"),
    "jira-writer": ("pdjira_jira_writer", "jira_writer"),
    "pd-writer": ("pdjira_pd_writer", "pd_writer"),
    "ingest": ("pdjira_ingest", "ingest"),
}

ACCOUNT = "main"
START_ATTEMPTS = 3
ADDRESS_IN_USE = "address already in use"  # uvicorn's and nats-server's words
INSTANCE = "main"
JIRA_USER = "pdjira"


@dataclass
class StackSettings:
    """Knobs the tests turn: short retry delays and ack wait so recovery is quick."""

    ack_wait: float = 30.0
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_attempts: int = 10
    http_timeout: float = 10.0
    webhook_retry_delay: float = 1.0
    check_contract: bool = False
    rules: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {
                "name": "checkout-to-ops",
                "account": ACCOUNT,
                "instance": INSTANCE,
                "project": "OPS",
                "issue_type": "Task",
                "on_acknowledge": "In Progress",
                "on_resolve": "Done",
                "resolution": "Done",
                "resolve_when_status": ["Done"],
            }
        ]
    )
    # PagerDuty-style rules ({account, instance, rule: {...}, priority_map...}) for the config.
    pagerduty_rules: list[dict[str, Any]] = field(default_factory=list)
    # Config sections passed as they are when set (e.g. ``reconcile``, ``rules_service``).
    extra_config: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None  # the simulators' seed (ids, faults): a replayable run


class Stack:
    """Start/stop the system; each part is reachable as an attribute for tests to poke."""

    def __init__(self, workdir: Path, settings: StackSettings | None = None) -> None:
        self.workdir = workdir
        self.settings = settings or StackSettings()
        self.logs = workdir / "logs"
        self.nats = NatsServer(workdir / "nats", log_file=self.logs / "nats.log")
        self.ports = {name: free_port() for name in [*SERVICES, "pd-sim", "jira-sim"]}
        # Generated per stack; reach the processes only through the environment.
        self.env = {
            "PD_TOKEN": secrets.token_hex(16),
            "PD_WEBHOOK_SECRET": secrets.token_hex(24),
            "JIRA_PASSWORD": secrets.token_hex(12),
            "JIRA_WEBHOOK_SECRET": secrets.token_hex(24),
            "MAPPING_ADMIN_TOKEN": secrets.token_hex(16),
            "RULES_ADMIN_TOKEN": secrets.token_hex(16),
        }
        self.config_path = workdir / "config.yaml"
        self.processes: dict[str, ManagedProcess] = {}

    # ------------------------------------------------------------------ addresses
    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def pd_url(self) -> str:
        return self.url("pd-sim")

    @property
    def jira_url(self) -> str:
        return self.url("jira-sim")

    @property
    def rules_url(self) -> str:
        """The rules service (its /rules admin API; bearer ``env["RULES_ADMIN_TOKEN"]``)."""
        return self.url("rules")

    # ------------------------------------------------------------------ config
    def config(self) -> dict[str, Any]:
        s = self.settings
        listen = {
            key: {"host": "127.0.0.1", "port": self.ports[name]}
            for name, (_, key) in SERVICES.items()
        }
        return {
            "nats": {"url": self.nats.url},
            "pagerduty_accounts": [
                {
                    "id": ACCOUNT,
                    "api_url": self.pd_url,
                    "token": "${env:PD_TOKEN}",
                    "from_email": "pdjira-bot@example.com",
                    "webhook_secrets": ["${env:PD_WEBHOOK_SECRET}"],
                }
            ],
            "jira_instances": [
                {
                    "id": INSTANCE,
                    # no scheme on purpose: the PagerDuty app's rule is "http:// by default"
                    "base_url": f"127.0.0.1:{self.ports['jira-sim']}",
                    "auth": {
                        "type": "basic",
                        "username": JIRA_USER,
                        "password": "${env:JIRA_PASSWORD}",
                    },
                    "webhook_secret": "${env:JIRA_WEBHOOK_SECRET}",
                }
            ],
            "rules": s.rules,
            "pagerduty_rules": s.pagerduty_rules,
            "rules_service": {
                "admin_token": "${env:RULES_ADMIN_TOKEN}",
                **s.extra_config.get("rules_service", {}),
            },
            "retry": {
                "ack_wait": s.ack_wait,
                "base_delay": s.base_delay,
                "max_delay": s.max_delay,
                "max_attempts": s.max_attempts,
                "http_timeout": s.http_timeout,
            },
            "listen": listen,
            "mapping": {"admin_token": "${env:MAPPING_ADMIN_TOKEN}"},
            **{k: v for k, v in s.extra_config.items() if k != "rules_service"},
        }

    def write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        return self.config_path

    # ------------------------------------------------------------------ processes
    def _simulators(self) -> list[ManagedProcess]:
        e = self.env
        pd = ManagedProcess(
            "pd-sim",
            "pdjira_simulators.pagerduty",
            [
                "--port=" + str(self.ports["pd-sim"]),
                "--token=" + e["PD_TOKEN"],
                "--webhook-url=" + f"{self.url('ingest')}/webhooks/pagerduty/{ACCOUNT}",
                "--webhook-secret=" + e["PD_WEBHOOK_SECRET"],
                "--webhook-retry-delay=" + str(self.settings.webhook_retry_delay),
                *self._seed_args(),
            ],
            health_url=f"{self.pd_url}/health",
            log_file=self.logs / "pd-sim.log",
            env=self._simulator_env(),
        )
        jira = ManagedProcess(
            "jira-sim",
            "pdjira_simulators.jira",
            [
                "--port=" + str(self.ports["jira-sim"]),
                "--username=" + JIRA_USER,
                "--password=" + e["JIRA_PASSWORD"],
                "--webhook-url=" + f"{self.url('ingest')}/webhooks/jira/{INSTANCE}",
                "--webhook-secret=" + e["JIRA_WEBHOOK_SECRET"],
                *self._seed_args(),
            ],
            health_url=f"{self.jira_url}/health",
            log_file=self.logs / "jira-sim.log",
            env=self._simulator_env(),
        )
        return [pd, jira]

    def _seed_args(self) -> list[str]:
        return [] if self.settings.seed is None else [f"--seed={self.settings.seed}"]

    def _simulator_env(self) -> dict[str, str]:
        # Strict contract mode: every request our services send is checked against the vendor
        # OpenAPI documents, and a violation fails the call (so it fails the test).
        return {"PDJIRA_SIM_CHECK_CONTRACT": "strict"} if self.settings.check_contract else {}

    def _services(self) -> list[ManagedProcess]:
        return [
            ManagedProcess(
                name,
                module,
                ["--config", str(self.config_path)],
                health_url=f"{self.url(name)}/health",
                log_file=self.logs / f"{name}.log",
                env=self.env,
            )
            for name, (module, _) in SERVICES.items()
        ]

    def start(self) -> Stack:
        """Start everything and wait until all is healthy. A port picked free can be taken by
        someone else before our process binds it: then the whole stack starts again on new
        ports (a few times at most)."""
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                return self._start_once()
            except RuntimeError as exc:
                if attempt == START_ATTEMPTS or not self._port_was_taken(exc):
                    raise
                self._pick_new_ports()
        raise AssertionError("unreachable")

    def _start_once(self) -> Stack:
        self.write_config()
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self.nats.start()
            for process in [*self._simulators(), *self._services()]:
                self.processes[process.name] = process.start()
            block_on(self._all_healthy())
        except BaseException:
            self.stop()
            raise
        return self

    def _port_was_taken(self, error: RuntimeError) -> bool:
        logs = [str(error), *(p.tail() for p in self.processes.values())]
        if self.nats.log_file is not None and self.nats.log_file.exists():
            logs.append(self.nats.log_file.read_text(errors="replace")[-2000:])
        return any(ADDRESS_IN_USE in text for text in logs)

    def _pick_new_ports(self) -> None:
        self.processes.clear()
        self.ports = {name: free_port() for name in self.ports}
        self.nats = NatsServer(self.nats.store_dir, log_file=self.nats.log_file)

    def kill_service(self, name: str) -> None:
        """kill -9 one service (no cleanup, no acks), as a crash or an OOM kill would."""
        self.processes[name].kill()

    def start_service(self, name: str, timeout: float = 60.0) -> None:
        """Start a killed service again and wait until it is healthy."""
        self.processes[name].start().wait_healthy(timeout)

    def restart_broker(self, down_for: float = 0.0) -> None:
        """Stop nats-server and start it again on the same port and storage directory, so
        JetStream (streams, consumers, KV) survives as it would on a broker restart."""
        self.nats.stop()
        if down_for:
            time.sleep(down_for)
        self.nats.start()

    def __getitem__(self, name: str) -> ManagedProcess:
        return self.processes[name]

    async def _all_healthy(self) -> None:
        await asyncio.gather(*(process.healthy() for process in self.processes.values()))

    def stop(self) -> None:
        """SIGTERM to every process at once, wait for all, then stop nats-server."""
        for process in reversed(list(self.processes.values())):
            process.terminate()
        for process in self.processes.values():
            process.wait_stopped()
        self.nats.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
