"""The faults of the chaos run: kill -9 of services, broker restarts, an ingest outage, vendor
faults (503s, 429 bursts, slow answers) and webhook faults (drop, duplicate, reorder, delay)
in both simulators, and poison messages for the DLQ check."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
import nats
from pdjira_common import streams, subjects

from pdjira_devstack.chaos_scenario import FaultPlan
from pdjira_devstack.stack import ACCOUNT, INSTANCE, SERVICES, Stack

__all__ = ["POISON_MARK", "FaultRunner"]

POISON_MARK = "chaos-poison"
VENDOR_FAULTS = {"error_rate": 0.05, "latency_ms": 1500, "latency_rate": 0.05}
THROTTLE_BURST = 4  # a short burst: writers back off further on each 429 in a row
# Jira delivers its webhooks one after the other, so its delays hold up every later webhook:
# shorter ones there.
WEBHOOK_FAULTS = {
    "pd": {
        "drop_rate": 0.05,
        "duplicate_rate": 0.10,
        "reorder_rate": 0.05,
        "delay_ms": 3000,
        "delay_rate": 0.05,
    },
    "jira": {
        "drop_rate": 0.05,
        "duplicate_rate": 0.10,
        "reorder_rate": 0.05,
        "delay_ms": 600,
        "delay_rate": 0.05,
    },
}


class FaultRunner:
    """Applies a FaultPlan to a running stack and counts what it did."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient, plan: FaultPlan) -> None:
        self.stack = stack
        self.http = http
        self.plan = plan
        self.kills: Counter[str] = Counter()
        self.broker_restarts = 0
        self.ingest_down_seconds = 0.0
        self.found_dead: Counter[str] = Counter()  # services that had died on their own
        self.poison: list[str] = []

    def _urls(self) -> dict[str, str]:
        return {"pd": self.stack.pd_url, "jira": self.stack.jira_url}

    async def _put(self, url: str, body: dict[str, Any]) -> None:
        (await self.http.put(url, json=body)).raise_for_status()

    async def vendor_faults_on(self, throttle_burst: int = 0) -> None:
        for side, url in self._urls().items():
            await self._put(
                f"{url}/_sim/faults", {**VENDOR_FAULTS, "throttle_burst": throttle_burst}
            )
            if not throttle_burst:
                await self._put(f"{url}/_sim/webhook-faults", WEBHOOK_FAULTS[side])

    async def all_off(self) -> None:
        """Stop injecting (held-back webhooks are released) and bring every service back."""
        for url in self._urls().values():
            (await self.http.delete(f"{url}/_sim/faults")).raise_for_status()
            (await self.http.delete(f"{url}/_sim/webhook-faults")).raise_for_status()
        if not self.stack.nats.running:
            await asyncio.to_thread(self.stack.nats.start)
        for name in SERVICES:
            if not self.stack[name].running:
                self.found_dead[name] += 1
                await asyncio.to_thread(self.stack.start_service, name)

    async def injected(self) -> dict[str, dict[str, int]]:
        """What both simulators injected since they started, by vendor."""
        out: dict[str, dict[str, int]] = {}
        for side, url in self._urls().items():
            vendor = (await self.http.get(f"{url}/_sim/faults")).json()["injected"]
            hooks = (await self.http.get(f"{url}/_sim/webhook-faults")).json()["injected"]
            out[side] = {**vendor, **{f"webhooks {k}": v for k, v in hooks.items()}}
        return out

    async def run(self, t0: float) -> None:
        """The whole fault timeline, ``t0`` being the run's start (monotonic)."""
        timeline: list[tuple[float, str, str]] = [
            *((at, "kill", service) for at, service in self.plan.kills),
            *((at, "broker", "") for at in self.plan.broker_restarts),
            *(
                [(self.plan.ingest_outage[0], "outage", "ingest")]
                if self.plan.ingest_outage[1]
                else []
            ),
            *((at, "throttle", "") for at in self.plan.throttle_bursts),
        ]
        for at, kind, what in sorted(timeline):
            await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
            await self._strike(kind, what)

    async def _strike(self, kind: str, what: str) -> None:
        stack = self.stack
        if kind == "kill":
            stack.kill_service(what)
            self.kills[what] += 1
            await asyncio.to_thread(stack.start_service, what)
        elif kind == "outage":
            stack.kill_service(what)
            self.kills[what] += 1
            down = self.plan.ingest_outage[1]
            await asyncio.sleep(down)
            self.ingest_down_seconds += down
            await asyncio.to_thread(stack.start_service, what)
        elif kind == "broker":
            await asyncio.to_thread(stack.restart_broker, 1.0)
            self.broker_restarts += 1
        elif kind == "throttle":
            await self.vendor_faults_on(throttle_burst=THROTTLE_BURST)

    async def inject_poison(self) -> None:
        """Messages no service can decode, on each kind of subject a service consumes: each
        must end in the DLQ (and nothing else should)."""
        targets = [
            subjects.command_jira(INSTANCE, "CHAOSPOISON1"),
            subjects.command_pd(ACCOUNT, "CHAOSPOISON2"),
            subjects.event_pd(ACCOUNT, "CHAOSPOISON3"),
        ]
        nc = await nats.connect(self.stack.nats.url)
        try:
            js = nc.jetstream()
            for n, subject in enumerate(targets, 1):
                mark = f"{POISON_MARK}-{n}"
                stream = streams.EVENTS if subject.startswith("events.") else streams.COMMANDS
                body = f'{{"type": "{mark}", "not": "a message any service knows"}}'.encode()
                await js.publish(subject, body, stream=stream, headers={"Nats-Msg-Id": mark})
                self.poison.append(mark)
        finally:
            await nc.close()
