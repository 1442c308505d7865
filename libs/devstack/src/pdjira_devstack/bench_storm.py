"""Storm scenario of ``make bench``: 2,000 incidents at once against a rate-limited Jira.

The 2,000 "create the issue for incident X" commands are published at once (what the rules
service emits when 2,000 incidents trigger together); the mapping and the jira-writer run as
their own processes against a Jira simulator whose login is limited to 50 requests/s (Jira DC's
bucket: 50 banked, 50 added per second). Reported: the drain time (first command published ->
last outcome) as a ratio to the theoretical minimum (calls needed / rate, where a create needs
one call: the idempotency search runs only on a create that may have run before), and the 429s
received.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import nats
import yaml
from nats.aio.msg import Msg

from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.process import ManagedProcess

__all__ = ["storm"]

INCIDENTS = 2000
RATE = 50  # requests per second the Jira login may make
CALLS_PER_CREATE = 1  # the create (a first delivery makes no idempotency search)
INSTANCE = "main"
ACCOUNT = "main"
USER = "pdjira"


def _command(i: int, run: str) -> bytes:
    return json.dumps(
        {
            "type": "jira.create_issue.v1",
            "command_id": f"storm-{run}-{i}",
            "correlation_id": f"storm-{run}-{i}",
            "incident": {"account": ACCOUNT, "incident_id": f"QSTORM{run}{i:06d}"},
            "instance": INSTANCE,
            "project": "OPS",
            "issue_type": "Task",
            "summary": f"storm incident {i}",
            "description": "bench",
            "labels": ["storm"],
        }
    ).encode()


def _config(nats_url: str, jira_port: int, ports: dict[str, int]) -> dict[str, Any]:
    return {
        "nats": {"url": nats_url},
        "jira_instances": [
            {
                "id": INSTANCE,
                "base_url": f"127.0.0.1:{jira_port}",
                "auth": {"type": "basic", "username": USER, "password": "${env:JIRA_PASSWORD}"},
                # Nothing sends it webhooks here; the config needs a way to check them anyway.
                "webhook_secret": "${env:JIRA_PASSWORD}",
                # What we know of the instance's limit before it says anything.
                "rate_limit": {"requests_per_second": RATE, "burst": 1},
            }
        ],
        "writers": {"concurrency": 32},
        "listen": {name: {"host": "127.0.0.1", "port": port} for name, port in ports.items()},
    }


def _make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


async def storm(workdir: Path) -> tuple[list[str], dict[str, Any]]:
    """Run the storm once; the result lines for the bench report and the figures for
    ``latest.json`` (``storm_drain_ratio``, ``storm_429_fraction`` and what they come from)."""
    _make_dir(workdir)
    password = uuid.uuid4().hex
    jira_port = free_port()
    ports = {"mapping": free_port(), "jira_writer": free_port()}
    jira = ManagedProcess(
        "jira-sim",
        "pdjira_simulators.jira",
        [f"--port={jira_port}", f"--username={USER}", f"--password={password}"],
        health_url=f"http://127.0.0.1:{jira_port}/health",
        log_file=workdir / "storm-jira.log",
    )
    with NatsServer(workdir / "storm-nats", log_file=workdir / "storm-nats.log") as server:
        config_path = workdir / "storm.yaml"
        config_path.write_text(yaml.safe_dump(_config(server.url, jira_port, ports)))
        services = [
            ManagedProcess(
                name,
                f"pdjira_{name}",
                ["--config", str(config_path)],
                health_url=f"http://127.0.0.1:{ports[name]}/health",
                log_file=workdir / f"storm-{name}.log",
                env={"JIRA_PASSWORD": password},
            )
            for name in ("mapping", "jira_writer")
        ]
        processes = [jira, *services]
        try:
            for process in processes:
                process.start()
            for process in processes:
                process.wait_healthy()
            return await _run(server.url, f"http://127.0.0.1:{jira_port}")
        finally:
            for process in reversed(processes):
                process.stop()


async def _run(nats_url: str, jira_url: str) -> tuple[list[str], dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30.0) as http:
        limit = {"capacity": RATE, "fill_rate": RATE, "interval_seconds": 1}
        (await http.put(f"{jira_url}/_sim/ratelimit", json=limit)).raise_for_status()
        (await http.delete(f"{jira_url}/_sim/requests")).raise_for_status()
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        done: set[str] = set()
        finished = asyncio.Event()

        async def on_outcome(msg: Msg) -> None:
            done.add(msg.header.get("Nats-Msg-Id", "") if msg.header else "")
            if len(done) >= INCIDENTS:
                finished.set()

        sub = await nc.subscribe("outcomes.jira.>", cb=on_outcome)
        run = uuid.uuid4().hex[:4].upper()
        start = time.perf_counter()
        acks = [
            js.publish(
                f"commands.jira.{INSTANCE}.QSTORM{run}{i:06d}",
                _command(i, run),
                headers={"Nats-Msg-Id": f"storm-{run}-{i}"},
            )
            for i in range(INCIDENTS)
        ]
        await asyncio.gather(*acks)
        await asyncio.wait_for(finished.wait(), timeout=INCIDENTS * CALLS_PER_CREATE / RATE * 3)
        drain = time.perf_counter() - start
        await sub.unsubscribe()
        await nc.close()
        calls = (await http.get(f"{jira_url}/_sim/requests")).json()["requests"]
        state = (await http.get(f"{jira_url}/_sim/state")).json()
    refused = sum(1 for c in calls if c["status"] == 429)
    issues = sum(1 for i in state["issues"] if "storm" in i["fields"].get("labels", []))
    needed = INCIDENTS * CALLS_PER_CREATE
    minimum = needed / RATE
    figures = {
        "storm_drain_s": round(drain, 3),
        "storm_minimum_s": minimum,
        "storm_drain_ratio": round(drain / minimum, 3),
        "storm_calls": len(calls),
        "storm_429s": refused,
        "storm_429_fraction": round(refused / max(len(calls), 1), 4),
        "storm_issues_created": issues,
        "storm_incidents": INCIDENTS,
        "storm_jira_rate_limit_per_s": RATE,
    }
    return [
        f"storm: {INCIDENTS} creates at once, Jira limited to {RATE} req/s: drained in "
        f"{drain:.1f} s; theoretical minimum {minimum:.1f} s ({needed} calls / {RATE} per s); "
        f"ratio {drain / minimum:.3f} (target <= 1.10)",
        f"  calls made {len(calls)}, 429s {refused} ({refused / max(len(calls), 1):.2%}, "
        f"target < 1%); issues created {issues} (expected {INCIDENTS})",
    ], figures
