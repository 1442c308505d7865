"""Waiting for signals: a condition on the simulators' state (what tests and the demo assert on),
and the bus being drained (the proof that nothing more is in flight)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any, TypeVar

import httpx
from nats.js import JetStreamContext

__all__ = ["SimulatorState", "bus_busy", "wait_drained", "wait_until"]

T = TypeVar("T")


async def wait_until(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float, what: str, interval: float = 0.2
) -> T:
    """The first truthy value ``probe`` returns; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


async def bus_busy(js: JetStreamContext, *, consumers: Collection[str] = ()) -> list[str]:
    """What is still in flight: each durable consumer (all, or those named) with messages not
    yet delivered or delivered but not acked, as "<stream>/<consumer>: N pending, M unacked"."""
    busy: list[str] = []
    for stream in await js.streams_info():
        stream_name = stream.config.name or ""
        for info in await js.consumers_info(stream_name):
            name = info.config.durable_name or info.name
            if (consumers and name not in consumers) or not info.config.durable_name:
                continue
            if info.num_pending or info.num_ack_pending:
                busy.append(
                    f"{stream_name}/{name}: {info.num_pending} pending, "
                    f"{info.num_ack_pending} unacked"
                )
    return busy


async def wait_drained(
    js: JetStreamContext,
    *,
    timeout: float,
    consumers: Collection[str] = (),
    interval: float = 0.05,
) -> None:
    """Until every durable consumer (all, or those named) has been delivered and has acked all
    it was given, and no stream grew while that was checked. TimeoutError says what is busy."""
    deadline = time.monotonic() + timeout
    while True:
        before = {s.config.name or "": s.state.last_seq for s in await js.streams_info()}
        busy = await bus_busy(js, consumers=consumers)
        after = {s.config.name or "": s.state.last_seq for s in await js.streams_info()}
        if not busy and before == after:
            return
        if time.monotonic() > deadline:
            grew = sorted(name for name in after if after[name] != before.get(name))
            raise TimeoutError(
                f"the bus is still busy after {timeout}s: {busy or 'streams growing: ' + str(grew)}"
            )
        await asyncio.sleep(interval)


class SimulatorState:
    """Read-only views of the simulators' admin state, for assertions."""

    def __init__(self, client: httpx.AsyncClient, pd_url: str, jira_url: str) -> None:
        self.client = client
        self.pd_url = pd_url
        self.jira_url = jira_url

    async def jira_issues(self) -> list[dict[str, Any]]:
        response = await self.client.get(f"{self.jira_url}/_sim/state")
        response.raise_for_status()
        issues: list[dict[str, Any]] = response.json()["issues"]
        return issues

    async def issues_for_incident(self, account: str, incident_id: str) -> list[dict[str, Any]]:
        label = f"pdjira-{account}-{incident_id}"
        return [i for i in await self.jira_issues() if label in i["fields"].get("labels", [])]

    async def issue(self, key: str) -> dict[str, Any]:
        for issue in await self.jira_issues():
            if issue["key"] == key:
                return issue
        raise KeyError(key)

    async def incident(self, incident_id: str) -> dict[str, Any]:
        response = await self.client.get(f"{self.pd_url}/_sim/state")
        response.raise_for_status()
        for incident in response.json()["incidents"]:
            if incident["id"] == incident_id:
                return dict(incident)
        raise KeyError(incident_id)

    async def jira_requests(self) -> list[dict[str, Any]]:
        response = await self.client.get(f"{self.jira_url}/_sim/requests")
        response.raise_for_status()
        requests: list[dict[str, Any]] = response.json()["requests"]
        return requests

    async def pd_requests(self) -> list[dict[str, Any]]:
        response = await self.client.get(f"{self.pd_url}/_sim/requests")
        response.raise_for_status()
        requests: list[dict[str, Any]] = response.json()["requests"]
        return requests
