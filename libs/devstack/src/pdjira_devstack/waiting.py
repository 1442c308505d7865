"""Polling until a condition holds on the simulators' state (what tests and the demo assert on)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx

__all__ = ["SimulatorState", "wait_until"]

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
