"""The chaos run's checks, from both simulators' state, histories and request logs and from
the DLQ / AUDIT / EVENTS streams: read everything once (``Evidence.collect``), then judge."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pdjira_common import streams
from pdjira_common.contracts import DeadLetter

from pdjira_devstack.chaos_model import (
    PairState,
    StatusWrite,
    acceptable_states,
    overriding_writes,
    propagated_writes,
    put_back,
)
from pdjira_devstack.chaos_people import JIRA_PERSON, PD_PERSON, PairRecord
from pdjira_devstack.chaos_report import ChaosReport

__all__ = ["Evidence", "judge", "read_stream"]

PD_LOG_STATUS = {
    "trigger_log_entry": "triggered",  # a create, or a reopen
    "unacknowledge_log_entry": "triggered",
    "acknowledge_log_entry": "acknowledged",
    "resolve_log_entry": "resolved",
}
_ISSUE_PATH = re.compile(r"^/rest/api/2/issue/[^/]+/(comment|transitions)$")
_INCIDENT_PATH = re.compile(r"^/incidents/[^/]+(/notes)?$")


async def read_stream(js: JetStreamContext, stream: str, subject: str) -> list[bytes]:
    """Every message of ``stream`` on ``subject`` (an ephemeral consumer; acks nothing)."""
    try:
        total = (await js.stream_info(stream)).state.messages
    except NotFoundError:
        return []
    if not total:
        return []
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30.0
    )
    sub = await js.pull_subscribe(subject, stream=stream, config=config)
    out: list[bytes] = []
    try:
        while len(out) < total:
            try:
                batch = await sub.fetch(500, timeout=2.0)
            except TimeoutError:
                break
            out.extend(m.data for m in batch)
    finally:
        await sub.unsubscribe()
    return out


@dataclass
class Evidence:
    pd: dict[str, Any]
    pd_log: list[dict[str, Any]]
    jira_issues: list[dict[str, Any]]
    pd_requests: list[dict[str, Any]]
    jira_requests: list[dict[str, Any]]
    jira_deliveries: list[dict[str, Any]]
    dead_letters: list[DeadLetter]
    audit: list[dict[str, Any]]
    reconcile_events: int
    events_total: int
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    async def collect(
        cls, http: httpx.AsyncClient, js: JetStreamContext, pd_url: str, jira_url: str
    ) -> Evidence:
        async def get(url: str) -> Any:
            response = await http.get(url)
            response.raise_for_status()
            return response.json()

        events = await read_stream(js, streams.EVENTS, "events.>")
        return cls(
            pd=await get(f"{pd_url}/_sim/state"),
            pd_log=(await get(f"{pd_url}/_sim/log-entries"))["log_entries"],
            jira_issues=(await get(f"{jira_url}/_sim/state"))["issues"],
            pd_requests=(await get(f"{pd_url}/_sim/requests"))["requests"],
            jira_requests=(await get(f"{jira_url}/_sim/requests"))["requests"],
            jira_deliveries=(await get(f"{jira_url}/_sim/deliveries"))["deliveries"],
            dead_letters=[
                msgspec.json.decode(raw, type=DeadLetter)
                for raw in await read_stream(js, streams.DLQ, "dlq.>")
            ],
            audit=[msgspec.json.decode(raw) for raw in await read_stream(js, streams.AUDIT, ">")],
            reconcile_events=sum(1 for raw in events if b'"origin":"reconcile"' in raw),
            events_total=len(events),
        )


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(
        stamp.replace("+0000", "+00:00").replace("Z", "+00:00")
    ).timestamp()


def _token(text: str) -> str:
    return text.split()[0]


class _Index:
    """The simulators' state, indexed the ways the checks look things up."""

    def __init__(self, ev: Evidence, account: str) -> None:
        self.incidents = {i["id"]: i for i in ev.pd["incidents"]}
        self.notes: dict[str, list[str]] = {
            iid: [n["content"] for n in notes] for iid, notes in ev.pd["notes"].items()
        }
        self.issues = {i["key"]: i for i in ev.jira_issues}
        self.issues_of_incident: dict[str, list[str]] = {}
        prefix = f"pdjira-{account}-"
        for issue in ev.jira_issues:
            for label in issue["fields"].get("labels") or []:
                if label.startswith(prefix):
                    self.issues_of_incident.setdefault(label[len(prefix) :], []).append(
                        issue["key"]
                    )
        self.incidents_of_issue: dict[str, list[str]] = {}
        for incident in ev.pd["incidents"]:
            if incident.get("incident_key"):
                self.incidents_of_issue.setdefault(incident["incident_key"], []).append(
                    incident["id"]
                )
        self.pd_writes: dict[str, list[StatusWrite]] = {}
        for entry in ev.pd_log:
            status = PD_LOG_STATUS.get(entry["type"])
            if status and entry["agent_id"] != PD_PERSON:
                write = StatusWrite(_epoch(entry["created_at"]), "pd", status)
                self.pd_writes.setdefault(entry["incident_id"], []).append(write)

    def comments(self, key: str) -> list[str]:
        return [c["body"] for c in self.issues[key]["fields"]["comment"]["comments"]]

    def jira_writes(self, key: str) -> list[StatusWrite]:
        histories = self.issues[key].get("changelog", {}).get("histories", [])
        return [
            StatusWrite(_epoch(h["created"]), "jira", item["toString"])
            for h in histories
            if (h.get("author") or {}).get("name") != JIRA_PERSON
            for item in h["items"]
            if item["field"] == "status"
        ]


def _partner(record: PairRecord, index: _Index, report: ChaosReport) -> tuple[str, str] | None:
    """(incident id, issue key) of the pair; lost/duplicate findings otherwise."""
    lost, dups = report.checks["lost"], report.checks["duplicates"]
    if record.origin == "pd":
        incident = record.incident_id or ""
        keys = index.issues_of_incident.get(incident, [])
        if not keys:
            lost.add(f"{record.name}: incident {incident} has no issue ({record.variant})")
            return None
        if len(keys) > 1:
            dups.add(f"{record.name}: incident {incident} has issues {keys}", len(keys) - 1)
        return incident, keys[0]
    key = record.issue_key or ""
    incidents = index.incidents_of_issue.get(key, [])
    if not incidents:
        lost.add(f"{record.name}: issue {key} has no incident ({record.variant})")
        return None
    if len(incidents) > 1:
        dups.add(f"{record.name}: issue {key} has incidents {incidents}", len(incidents) - 1)
    return incidents[0], key


def _judge_pair(record: PairRecord, index: _Index, report: ChaosReport) -> None:
    pair = _partner(record, index, report)
    if pair is None:
        return
    incident_id, key = pair
    acceptable = acceptable_states(record.actions)
    actual_pd = index.incidents[incident_id]["status"]
    actual_jira = index.issues[key]["fields"]["status"]["name"]
    writes = [*index.pd_writes.get(incident_id, []), *index.jira_writes(key)]
    raced = overriding_writes(record.actions, writes)
    restored = [w for w in raced if put_back(record.actions, writes, w)]
    overrides = [w for w in raced if w not in restored]
    report.put_back += len(restored)
    where = f"{record.name} ({record.variant}) {incident_id}/{key}"
    if overrides:
        said = ", ".join(f"{w.side} set {w.status!r}" for w in overrides)
        report.checks["overridden"].add(f"{where}: after a person's change pdjira {said}")
    elif acceptable and PairState(actual_pd, actual_jira) not in acceptable:
        said = " or ".join(f"{s.pd}/{s.jira}" for s in acceptable)
        report.checks["not converged"].add(
            f"{where}: is {actual_pd}/{actual_jira}, expected {said}"
        )
    _judge_notes(record, incident_id, key, index, report)


def _judge_notes(
    record: PairRecord, incident_id: str, key: str, index: _Index, report: ChaosReport
) -> None:
    notes, comments = index.notes.get(incident_id, []), index.comments(key)
    for side, text in record.notes:
        token = _token(text)
        on_pd = sum(token in n for n in notes)
        on_jira = sum(token in c for c in comments)
        copies, originals = (on_jira, on_pd) if side == "pd" else (on_pd, on_jira)
        what = f"{record.name}: {'note' if side == 'pd' else 'comment'} {token}"
        if copies == 0:
            report.checks["lost"].add(f"{what} never copied")
        elif copies > 1:
            report.checks["duplicates"].add(f"{what} copied {copies} times", copies - 1)
        if originals > 1:
            report.checks["duplicates"].add(f"{what} echoed back {originals - 1} times")


def _write_kind(vendor: str, method: str, path: str) -> str | None:
    if method not in ("POST", "PUT", "DELETE") or path.endswith("/search"):
        return None
    if vendor == "jira":
        if method == "POST" and path == "/rest/api/2/issue":
            return "jira create issue"
        match = _ISSUE_PATH.match(path)
        if method == "POST" and match:
            return "jira comment" if match.group(1) == "comment" else "jira transition"
        return "jira other"
    if method == "POST" and path == "/incidents":
        return "pd create incident"
    match = _INCIDENT_PATH.match(path)
    if match and method == "POST" and match.group(1):
        return "pd note"
    if match and method == "PUT" and not match.group(1):
        return "pd incident update"
    return "pd other"


def _judge_writes(records: list[PairRecord], ev: Evidence, report: ChaosReport) -> None:
    """Successful vendor writes per kind against what the people's actions call for; the
    calls answered otherwise (injected faults, 429s, conflicts) are the retries."""
    propagated = Counter[str]()
    for record in records:
        propagated.update(propagated_writes(record.actions))
    bound = {
        "jira create issue": sum(1 for r in records if r.origin == "pd" and r.incident_id),
        "jira comment": sum(1 for r in records for side, _ in r.notes if side == "pd"),
        "jira transition": propagated["jira"],
        "pd create incident": sum(1 for r in records if r.origin == "jira" and r.issue_key),
        "pd note": sum(1 for r in records for side, _ in r.notes if side == "jira"),
        "pd incident update": propagated["pd"],
    }
    ok, failed = Counter[str](), Counter[str]()
    for vendor, requests in (("jira", ev.jira_requests), ("pd", ev.pd_requests)):
        for call in requests:
            kind = _write_kind(vendor, call["method"], call["path"])
            if kind is not None:
                (ok if 200 <= call["status"] < 300 else failed)[kind] += 1
    for kind in [*bound, "jira other", "pd other"]:
        report.writes[f"{kind}: ok"] = ok[kind]
        if kind in bound:
            report.writes[f"{kind}: expected at most"] = bound[kind]
            if ok[kind] > bound[kind]:
                report.checks["writes beyond expected"].add(
                    f"{kind}: {ok[kind]} succeeded, the people's actions call for "
                    f"at most {bound[kind]}",
                    ok[kind] - bound[kind],
                )
    report.writes["answered otherwise (retried or failed)"] = sum(failed.values())
    report.writes["non-fault 4xx answers"] = sum(
        1
        for requests in (ev.jira_requests, ev.pd_requests)
        for call in requests
        if 400 <= call["status"] < 500 and call["status"] != 429
    )


def _judge_dlq(ev: Evidence, poison: list[str], report: ChaosReport) -> None:
    found = Counter[str]()
    for letter in ev.dead_letters:
        marks = [p for p in poison if p.encode() in letter.data]
        if marks:
            found.update(marks)
            continue
        report.checks["dlq unexpected"].add(
            f"{letter.subject} ({letter.consumer}, {letter.attempts} attempts): "
            f"{letter.reason[:160]}"
        )
    for mark in poison:
        if found[mark] != 1:
            report.checks["poison not dead-lettered"].add(
                f"{mark}: {found[mark]} letters (expected exactly 1)"
            )
    report.faults["poison messages injected"] = len(poison)


def _judge_reconcile(ev: Evidence, report: ChaosReport) -> None:
    said = [
        a
        for a in ev.audit
        if "reconcil" in f"{a.get('summary', '')} {a.get('event_id', '')}".lower()
    ]
    report.recovered = {
        "events with origin=reconcile (EVENTS)": ev.reconcile_events,
        "audited as reconciliation": len(said),
        "  of which led to commands": sum(1 for a in said if a.get("command_ids")),
    }


def judge(
    records: list[PairRecord], ev: Evidence, poison: list[str], report: ChaosReport, account: str
) -> None:
    """Fill ``report``'s checks, writes and recovered figures."""
    index = _Index(ev, account)
    for record in records:
        if (record.incident_id if record.origin == "pd" else record.issue_key) is None:
            report.notes.append(f"{record.name}: the person's create failed; not judged")
            continue
        _judge_pair(record, index, report)
    _judge_writes(records, ev, report)
    _judge_dlq(ev, poison, report)
    _judge_reconcile(ev, report)
    report.faults["jira webhooks never delivered (Jira sends once)"] = sum(
        1
        for d in ev.jira_deliveries
        if d["status_code"] is None or not 200 <= d["status_code"] < 300
    )
    report.events["events in stream EVENTS"] = ev.events_total
