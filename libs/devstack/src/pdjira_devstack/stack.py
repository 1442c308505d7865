"""The whole system on one machine: nats-server, the five services and both simulators,
each its own OS process, wired to each other on free loopback ports.

Used by ``make run`` / ``pdjira dev up`` and by the end-to-end tests.

A service can run as several replicas (``StackSettings.replicas``): replica 1 is the process
named after the service (``"rules"``), replicas 2..N are ``"rules#2"``, ``"rules#3"``..., each
with its own port, health URL, log file and config file (the shared config with its own
``listen.<key>.port``). Every service process has ``PDJIRA_REPLICA_ID`` in its environment
(``"rules-1"``, ``"rules-2"``...: letters, digits, ``-`` and ``_`` only).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.process import ManagedProcess
from pdjira_devstack.waiting import block_on

__all__ = [
    "CONSOLE",
    "REPLICA_ID_ENV",
    "SERVICES",
    "Stack",
    "StackSettings",
    "replica_id",
    "replica_names",
]

# name -> (module, config listen key)
SERVICES: dict[str, tuple[str, str]] = {
    "mapping": ("pdjira_mapping", "mapping"),
    "rules": ("pdjira_rules", "rules"),
    "jira-writer": ("pdjira_jira_writer", "jira_writer"),
    "pd-writer": ("pdjira_pd_writer", "pd_writer"),
    "ingest": ("pdjira_ingest", "ingest"),
}

# The admin web console (services/console): started when StackSettings.console (make run).
CONSOLE = "console"
CONSOLE_MODULE = "pdjira_console"
ACCOUNT = "main"
START_ATTEMPTS = 3
ADDRESS_IN_USE = "address already in use"  # uvicorn's and nats-server's words
INSTANCE = "main"
JIRA_USER = "pdjira"
REPLICA_ID_ENV = "PDJIRA_REPLICA_ID"
WRITERS = ("jira-writer", "pd-writer")


def replica_names(service: str, count: int) -> list[str]:
    """The process names of ``count`` replicas of ``service``: ``rules``, ``rules#2``, ..."""
    return [service, *(f"{service}#{k}" for k in range(2, count + 1))]


def replica_id(name: str) -> str:
    """``PDJIRA_REPLICA_ID`` of a process name: ``rules`` -> ``rules-1``, ``rules#2`` ->
    ``rules-2`` (a NATS KV key token: no ``#``)."""
    service, _, k = name.partition("#")
    return f"{service}-{k or 1}"


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
    # Config sections passed as they are when set (e.g. ``reconcile``, ``rules_service``);
    # ``nats`` is merged into the stack's own (its url), e.g. {"partition_lease_ttl": 3}.
    extra_config: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None  # the simulators' seed (ids, faults): a replayable run
    # Processes per service (e.g. {"rules": 3, "jira-writer": 3}); a service not named runs one.
    replicas: dict[str, int] = field(default_factory=dict)
    # Our own budget (``rate_limit``: requests_per_second, burst) for the Jira instance and the
    # PagerDuty account; unset: the config's defaults (Jira 50/s, PagerDuty 16/s).
    rate_limit: dict[str, float] | None = None
    # Also start the admin web console (login: env["CONSOLE_ADMIN_TOKEN"]).
    console: bool = False


class Stack:
    """Start/stop the system; each part is reachable as an attribute for tests to poke."""

    def __init__(self, workdir: Path, settings: StackSettings | None = None) -> None:
        self.workdir = workdir
        self.settings = settings or StackSettings()
        self.logs = workdir / "logs"
        self.nats = NatsServer(workdir / "nats", log_file=self.logs / "nats.log")
        unknown = set(self.settings.replicas) - set(SERVICES)
        if unknown or any(n < 1 for n in self.settings.replicas.values()):
            raise ValueError(f"replicas: services are {list(SERVICES)}, each at least 1")
        self.ports = {
            name: free_port() for name in [*self.service_processes(), "pd-sim", "jira-sim"]
        }
        if self.settings.console:
            self.ports[CONSOLE] = free_port()
        # Generated per stack; reach the processes only through the environment.
        self.env = {
            "PD_TOKEN": secrets.token_hex(16),
            "PD_WEBHOOK_SECRET": secrets.token_hex(24),
            "JIRA_PASSWORD": secrets.token_hex(12),
            "JIRA_WEBHOOK_SECRET": secrets.token_hex(24),
            "MAPPING_ADMIN_TOKEN": secrets.token_hex(16),
            "RULES_ADMIN_TOKEN": secrets.token_hex(16),
            "INGEST_ADMIN_TOKEN": secrets.token_hex(16),
            "CONSOLE_ADMIN_TOKEN": secrets.token_hex(16),
            "CONSOLE_SESSION_SECRET": secrets.token_hex(32),
        }
        self.config_path = workdir / "config.yaml"
        self.cli_env_path = workdir / "env"
        self.processes: dict[str, ManagedProcess] = {}

    # ------------------------------------------------------------------ replicas
    def replicas(self, service: str) -> list[str]:
        """The process names of ``service``'s replicas (the first is ``service`` itself)."""
        return replica_names(service, self.settings.replicas.get(service, 1))

    def service_processes(self) -> dict[str, str]:
        """Every service process name -> its service, replicas included."""
        return {name: service for service in SERVICES for name in self.replicas(service)}

    def config_path_of(self, name: str) -> Path:
        """The config file of one service process: the shared one for a first replica."""
        if "#" not in name:
            return self.config_path
        return self.workdir / f"config.{replica_id(name)}.yaml"

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
        if s.console:
            listen["console"] = {"host": "127.0.0.1", "port": self.ports[CONSOLE]}
        return {
            "nats": {"url": self.nats.url, **s.extra_config.get("nats", {})},
            "pagerduty_accounts": [
                {
                    "id": ACCOUNT,
                    "api_url": self.pd_url,
                    "token": "${env:PD_TOKEN}",
                    "from_email": "pdjira-bot@example.com",
                    "webhook_secrets": ["${env:PD_WEBHOOK_SECRET}"],
                    **self._rate_limit(),
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
                    **self._rate_limit(),
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
            # The seeded people (jdoe in Jira, Pat in PagerDuty) are linked to nobody, and the
            # stack's tests, chaos and demo mean their changes to be applied: as the
            # integration user (a module sets its own ``mapping`` through extra_config).
            "mapping": {
                "admin_token": "${env:MAPPING_ADMIN_TOKEN}",
                "unlinked_users": "integration_user",
            },
            # Where the simulators send webhooks (pdjira webhooks check compares with it).
            "ingest": {
                "public_url": self.url("ingest"),
                "admin_token": "${env:INGEST_ADMIN_TOKEN}",
            },
            **self._writers(),
            **self._console(),
            **{
                k: v
                for k, v in s.extra_config.items()
                if k not in ("nats", "rules_service", "writers")
            },
        }

    def _console(self) -> dict[str, Any]:
        if not self.settings.console:
            return {}
        return {
            "console": {
                "admin_token": "${env:CONSOLE_ADMIN_TOKEN}",
                "session_secret": "${env:CONSOLE_SESSION_SECRET}",
            }
        }

    @property
    def console_url(self) -> str:
        """The admin web console (when started; login: ``env["CONSOLE_ADMIN_TOKEN"]``)."""
        return self.url(CONSOLE)

    def _rate_limit(self) -> dict[str, Any]:
        limit = self.settings.rate_limit
        return {} if limit is None else {"rate_limit": dict(limit)}

    def _writers(self) -> dict[str, Any]:
        """``writers.replicas``: each writer replica takes that share of a vendor's budget, so
        it is the larger writer replica count (never more than the budget in all)."""
        writers = dict(self.settings.extra_config.get("writers", {}))
        count = max(self.settings.replicas.get(w, 1) for w in WRITERS)
        if count > 1:
            writers.setdefault("replicas", count)
        return {"writers": writers} if writers else {}

    def write_config(self) -> Path:
        """The shared config file, and one per replica beyond the first (its own port)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.config()
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        for name, service in self.service_processes().items():
            if "#" in name:
                key = SERVICES[service][1]
                listen = {**config["listen"], key: {"host": "127.0.0.1", "port": self.ports[name]}}
                replica = {**config, "listen": listen}
                self.config_path_of(name).write_text(yaml.safe_dump(replica, sort_keys=False))
        return self.config_path

    def write_cli_env(self) -> Path:
        """``<workdir>/env`` (mode 0600: it holds the stack's secrets) for a shell to ``source``:
        ``PDJIRA_CONFIG`` (the services' own config), the secrets it refers to,
        ``PDJIRA_NATS_URL`` and the virtual environment's ``bin`` on ``PATH``, so every
        ``pdjira`` command reaches this stack without flags."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        values = {
            "PDJIRA_CONFIG": str(self.config_path.resolve()),
            "PDJIRA_NATS_URL": self.nats.url,
            **self.env,
        }
        lines = [
            "# pdjira CLI against the stack `make run` started: source this file, then",
            "# e.g. `pdjira rules list`, `pdjira dlq list`, `pdjira audit show ID`.",
            "# It holds this run's generated secrets: keep it to yourself (mode 0600).",
            *(f"export {name}={shlex.quote(value)}" for name, value in values.items()),
            f'export PATH={shlex.quote(str(Path(sys.executable).parent))}:"$PATH"',
        ]
        fd = os.open(self.cli_env_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(lines) + "\n")
        self.cli_env_path.chmod(0o600)  # an existing file keeps its mode through O_TRUNC
        return self.cli_env_path

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
        # Built only when started: its port exists only then.
        console = [
            ManagedProcess(
                CONSOLE,
                CONSOLE_MODULE,
                ["--config", str(self.config_path)],
                health_url=f"{self.url(CONSOLE)}/health",
                log_file=self.logs / f"{CONSOLE}.log",
                env={**self.env, REPLICA_ID_ENV: replica_id(CONSOLE)},
            )
            for _ in range(1 if self.settings.console else 0)
        ]
        return [
            ManagedProcess(
                name,
                SERVICES[service][0],
                ["--config", str(self.config_path_of(name))],
                health_url=f"{self.url(name)}/health",
                log_file=self.logs / f"{name}.log",
                env={**self.env, REPLICA_ID_ENV: replica_id(name)},
            )
            for name, service in self.service_processes().items()
        ] + console

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
        self.write_cli_env()
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self.nats.start()
            for process in [*self._simulators(), *self._services()]:
                self.processes[process.name] = process.start()
            block_on(self._all_healthy())
            self._all_still_running()
        except BaseException:
            self.stop()
            raise
        return self

    def _all_still_running(self) -> None:
        """A health probe can be answered by another stack's process on the same port while
        ours is still binding (and then fails: address in use): every process must still be
        running once all are healthy, or the start counts as failed (and is tried again on new
        ports when a port was taken)."""
        for process in self.processes.values():
            if not process.running:
                raise RuntimeError(
                    f"{process.name} exited while the stack started; see {process.log_file}:\n"
                    f"{process.tail()}"
                )

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
        """kill -9 one service process (``"rules"``, ``"rules#2"``; no cleanup, no acks), as a
        crash or an OOM kill would."""
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
