"""The people of the chaos run: they act in the simulators' UIs (``/_sim`` endpoints) as the
plan says, and every action they made lands in the scenario log with its time."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from pdjira_devstack.chaos_model import HumanAction
from pdjira_devstack.chaos_scenario import PairScript, Step

__all__ = ["JIRA_PERSON", "LABEL", "PD_PERSON", "PairRecord", "People", "WorldView"]

PD_PERSON = "PUSER01"
JIRA_PERSON = "jdoe"
LABEL = "page-me"  # what the rule's JQL selects Jira-born issues by
SERVICE = "PSVC001"  # "Checkout API", the rule's service
Side = Literal["pd", "jira"]


@dataclass
class PairRecord:
    """One pair as the people saw it: its ids, their status actions, their notes/comments."""

    name: str
    variant: str
    incident_id: str | None = None
    issue_key: str | None = None
    actions: list[HumanAction] = field(default_factory=list)
    notes: list[tuple[Side, str]] = field(default_factory=list)  # (where written, text)
    skipped: list[str] = field(default_factory=list)

    @property
    def origin(self) -> Side:
        return "pd" if self.name.startswith("P") else "jira"


class WorldView:
    """The simulators' state, re-read every ``interval`` by one task (people wait on it
    instead of each polling the simulators)."""

    def __init__(self, http: httpx.AsyncClient, pd_url: str, jira_url: str, account: str):
        self.http, self.pd_url, self.jira_url, self.account = http, pd_url, jira_url, account
        self.issue_of_incident: dict[str, str] = {}
        self.incident_of_issue: dict[str, str] = {}
        self.jira_status: dict[str, str] = {}
        self.changed = asyncio.Event()

    async def refresh(self) -> None:
        pd = (await self.http.get(f"{self.pd_url}/_sim/state")).json()
        jira = (await self.http.get(f"{self.jira_url}/_sim/state", params={"brief": "1"})).json()
        prefix = f"pdjira-{self.account}-"
        for issue in jira["issues"]:
            key, fields = issue["key"], issue["fields"]
            self.jira_status[key] = fields["status"]["name"]
            for label in fields.get("labels") or []:
                if label.startswith(prefix):
                    self.issue_of_incident.setdefault(label[len(prefix) :], key)
        for incident in pd["incidents"]:
            if incident.get("incident_key"):
                self.incident_of_issue.setdefault(incident["incident_key"], incident["id"])
        self.changed.set()
        self.changed = asyncio.Event()

    async def keep_fresh(self, interval: float = 0.7) -> None:
        while True:
            with contextlib.suppress(httpx.HTTPError, ValueError):  # the next round reads again
                await self.refresh()
            await asyncio.sleep(interval)

    async def wait_for(self, probe: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while (value := probe()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for(self.changed.wait(), timeout=left)
            except TimeoutError:
                return None
        return value


class People:
    """Carry out pair scripts against the simulators, recording each action."""

    def __init__(self, http: httpx.AsyncClient, world: WorldView, partner_wait: float) -> None:
        self.http = http
        self.world = world
        self.partner_wait = partner_wait
        self.records: dict[str, PairRecord] = {}

    async def play(self, script: PairScript, t0: float) -> None:
        record = self.records.setdefault(script.name, PairRecord(script.name, script.variant))
        await asyncio.sleep(max(0.0, t0 + script.start - time.monotonic()))
        for step in script.steps:
            await asyncio.sleep(step.delay)
            try:
                ok = await self._do(record, step)
            except httpx.HTTPError as exc:
                ok = False
                record.skipped.append(f"{step.kind} {step.value}: {type(exc).__name__} {exc}")
            if not ok and (step.kind.startswith("wait") or step.kind.endswith("create")):
                return  # nothing more this person can do on this pair

    async def _post(self, url: str, body: Mapping[str, object]) -> dict[str, Any]:
        response = await self.http.post(url, json=body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def _acted(self, record: PairRecord, side: Side, status: str) -> None:
        record.actions.append(HumanAction(time.time(), side, status))

    async def _do(self, record: PairRecord, step: Step) -> bool:
        pd, jira, w = self.world.pd_url, self.world.jira_url, self.world
        if step.kind == "pd_create":
            incident = {"title": step.value, "service_id": SERVICE, "as_user": PD_PERSON}
            answer = await self._post(f"{pd}/_sim/incidents", incident)
            record.incident_id = answer["incident"]["id"]
            self._acted(record, "pd", "triggered")
        elif step.kind == "jira_create":
            issue = {"summary": step.value, "labels": [LABEL], "as_user": JIRA_PERSON}
            record.issue_key = (await self._post(f"{jira}/_sim/issues", issue))["key"]
            self._acted(record, "jira", "To Do")
        elif step.kind == "wait_partner":
            return await self._wait_partner(record, step)
        elif step.kind == "wait_jira_status":
            if not await self._wait_partner(record, step):
                return False
            key = record.issue_key
            found = await w.wait_for(
                lambda: True if w.jira_status.get(key or "") == step.value else None,
                self.partner_wait,
            )
            if found is None:
                record.skipped.append(f"{key} never reached {step.value}")
                return False
        elif step.kind == "pd_status" and record.incident_id:
            url = f"{pd}/_sim/incidents/{record.incident_id}/status"
            await self._post(url, {"status": step.value, "as_user": PD_PERSON})
            self._acted(record, "pd", step.value)
        elif step.kind == "jira_status" and record.issue_key:
            return await self._transition(record, step.value)
        elif step.kind == "pd_note" and record.incident_id:
            url = f"{pd}/_sim/incidents/{record.incident_id}/notes"
            await self._post(url, {"content": step.value, "as_user": PD_PERSON})
            record.notes.append(("pd", step.value))
        elif step.kind == "jira_comment" and record.issue_key:
            url = f"{jira}/_sim/issues/{record.issue_key}/comment"
            await self._post(url, {"body": step.value, "as_user": JIRA_PERSON})
            record.notes.append(("jira", step.value))
        else:
            record.skipped.append(f"{step.kind} {step.value}: no target")
            return False
        return True

    async def _transition(self, record: PairRecord, status: str) -> bool:
        url = f"{self.world.jira_url}/_sim/issues/{record.issue_key}/transition"
        response = await self.http.post(url, json={"status": status, "as_user": JIRA_PERSON})
        if response.status_code == 400:  # not reachable from where pdjira has put it now
            record.skipped.append(f"move {record.issue_key} to {status}: {response.text[:120]}")
            return False
        response.raise_for_status()
        self._acted(record, "jira", status)
        return True

    async def _wait_partner(self, record: PairRecord, step: Step) -> bool:
        w = self.world
        if record.origin == "pd" and record.issue_key is None:
            incident = record.incident_id or ""
            record.issue_key = await w.wait_for(
                lambda: w.issue_of_incident.get(incident), self.partner_wait
            )
        elif record.origin == "jira" and record.incident_id is None:
            key = record.issue_key or ""
            record.incident_id = await w.wait_for(
                lambda: w.incident_of_issue.get(key), self.partner_wait
            )
        if record.issue_key is None or record.incident_id is None:
            record.skipped.append(f"{step.kind}: pdjira made no partner in {self.partner_wait}s")
            return False
        return True
