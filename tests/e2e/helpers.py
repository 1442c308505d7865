"""What the end-to-end tests do and look at: a person's actions on the simulators, the state
they show, and ``quiet``, the signal that nothing more is in flight anywhere (see
``pdjira_devstack.waiting``): after it, "no echo" and "no duplicate" are facts, not hopes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import msgspec
import nats
from nats.js import JetStreamContext
from pdjira_common.contracts import AuditRecord, Link, decode_trail
from pdjira_common.streams import AUDIT, KV_LINKS
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import ACCOUNT, Stack
from pdjira_devstack.waiting import SimulatorState, wait_drained, wait_until

Quiet = Callable[[], Awaitable[None]]
QUIET_TIMEOUT = 30.0  # a bound for slow machines; quiet usually comes in well under a second


def quiet_signal(js: JetStreamContext, sims: SimulatorState) -> Quiet:
    """``await quiet()``: until every durable consumer on ``js`` has acked all it was given
    and neither simulator has a webhook queued or in flight."""

    async def quiet() -> None:
        await wait_drained(js, timeout=QUIET_TIMEOUT, sims=sims)

    return quiet


# ------------------------------------------------------------------------------ issues, links


async def one_issue_for(sims: SimulatorState, quiet: Quiet, incident_id: str) -> dict[str, Any]:
    """The incident's issue, once it exists and everything has settled: exactly one."""

    async def probe() -> list[dict[str, Any]] | None:
        return await sims.issues_for_incident(ACCOUNT, incident_id) or None

    await wait_until(probe, timeout=30, what=f"an issue for {incident_id}")
    await quiet()  # a duplicate create, if the system would make one, has been made by now
    issues = await sims.issues_for_incident(ACCOUNT, incident_id)
    assert len(issues) == 1, f"expected exactly one issue, got {[i['key'] for i in issues]}"
    return issues[0]


async def status_of(sims: SimulatorState, key: str) -> str:
    return str((await sims.issue(key))["fields"]["status"]["name"])


async def wait_issue_status(sims: SimulatorState, key: str, status: str) -> None:
    async def probe() -> bool:
        return await status_of(sims, key) == status

    await wait_until(probe, timeout=30, what=f"{key} in {status!r}")


async def stored_link(stack: Stack, incident_id: str) -> Link | None:
    nc = await nats.connect(stack.nats.url)
    try:
        kv = await nc.jetstream().key_value(KV_LINKS)
        try:
            entry = await kv.get(f"pd.{ACCOUNT}.{incident_id}")
        except nats.js.errors.KeyNotFoundError:
            return None
        return msgspec.json.decode(entry.value or b"", type=Link)
    finally:
        await nc.close()


async def wait_link(stack: Stack, incident_id: str) -> Link:
    return await wait_until(
        lambda: stored_link(stack, incident_id), timeout=15, what="the link in the registry"
    )


async def linked_issue(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet, title: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    incident = await trigger_incident(http, stack.pd_url, title)
    issue = await one_issue_for(sims, quiet, incident["id"])
    await wait_link(stack, incident["id"])
    return incident, issue


async def transition_issue(
    http: httpx.AsyncClient, stack: Stack, key: str, status: str, as_user: str = "jdoe"
) -> None:
    """A person (``as_user``) moves the issue to ``status`` in Jira."""
    response = await http.post(
        f"{stack.jira_url}/_sim/issues/{key}/transition",
        json={"status": status, "as_user": as_user},
    )
    response.raise_for_status()


async def wait_incident_status(sims: SimulatorState, incident_id: str, status: str) -> None:
    async def reached() -> bool:
        return str((await sims.incident(incident_id))["status"]) == status

    await wait_until(reached, timeout=30, what=f"incident {incident_id} {status}")


async def audit_records(stack: Stack, entity: str) -> list[AuditRecord]:
    """The rules service's audit records about one entity (e.g. "pd:main:Q..."), as stored
    now: the AUDIT stream read up to its last message."""
    nc = await nats.connect(stack.nats.url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(AUDIT)).state.last_seq
        records: list[AuditRecord] = []
        if not last:
            return records
        sub = await js.subscribe("audit.>", stream=AUDIT, ordered_consumer=True)
        try:
            while True:
                msg = await sub.next_msg(timeout=10.0)
                record = decode_trail(msg.data)  # the writers' records are there too
                if (
                    isinstance(record, AuditRecord)
                    and record.entity == entity
                    and record.service == "rules"
                ):
                    records.append(record)
                if msg.metadata.sequence.stream >= last:
                    return records
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()


# ------------------------------------------------------------------------------ notes, comments


async def notes_of(http: httpx.AsyncClient, stack: Stack, incident_id: str) -> list[dict[str, Any]]:
    response = await http.get(f"{stack.pd_url}/_sim/state")
    response.raise_for_status()
    notes: list[dict[str, Any]] = response.json()["notes"].get(incident_id, [])
    return notes


async def comments_of(sims: SimulatorState, key: str) -> list[dict[str, Any]]:
    comments: list[dict[str, Any]] = (await sims.issue(key))["fields"]["comment"]["comments"]
    return comments


async def add_note(http: httpx.AsyncClient, stack: Stack, incident_id: str, text: str) -> None:
    response = await http.post(
        f"{stack.pd_url}/_sim/incidents/{incident_id}/notes",
        json={"content": text, "as_user": "PUSER01"},
    )
    response.raise_for_status()


async def add_comment(
    http: httpx.AsyncClient, stack: Stack, key: str, text: str, as_user: str = "jdoe"
) -> None:
    response = await http.post(
        f"{stack.jira_url}/_sim/issues/{key}/comment", json={"body": text, "as_user": as_user}
    )
    response.raise_for_status()


async def wait_count(
    probe: Callable[[], Awaitable[list[Any]]], count: int, what: str, timeout: float = 30
) -> None:
    async def reached() -> bool:
        return len(await probe()) >= count

    await wait_until(reached, timeout=timeout, what=what)


# ------------------------------------------------------------------------------ vendor writes


def writes(requests: list[dict[str, Any]], prefix: str) -> list[str]:
    """Vendor write calls (searches are reads) on ``prefix`` (an incident or issue path)."""
    return sorted(
        f"{r['method']} {r['path']}"
        for r in requests
        if r["method"] in ("POST", "PUT", "DELETE")
        and not r["path"].endswith("/search")
        and (r["path"] == prefix or r["path"].startswith(prefix + "/"))
    )


async def jira_writes(sims: SimulatorState, issue: dict[str, Any]) -> list[str]:
    """Write calls on one issue, addressed by key or by id (both shown by key)."""
    requests = await sims.jira_requests()
    by_key = writes(requests, f"/rest/api/2/issue/{issue['key']}")
    by_id = writes(requests, f"/rest/api/2/issue/{issue['id']}")
    return sorted(by_key + [w.replace(f"/{issue['id']}", f"/{issue['key']}") for w in by_id])


async def pd_writes(sims: SimulatorState, incident_id: str) -> list[str]:
    return writes(await sims.pd_requests(), f"/incidents/{incident_id}")


# ------------------------------------------------------------------------------ the CLI


def _cli(
    stack: Stack, args: tuple[str, ...], env: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """``pdjira ARGS --config <the stack's config>`` and its environment (the stack's env file)."""
    command = [sys.executable, "-m", "pdjira_cli.main", *args, "--config", str(stack.config_path)]
    return command, {**os.environ, **stack.env, **env}


def pdjira(
    stack: Stack, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``pdjira ARGS`` against the stack as an operator would; ``env``: variables added."""
    command, full_env = _cli(stack, args, env or {})
    return subprocess.run(
        command,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


async def pdjira_async(stack: Stack, *args: str, timeout: float = 180) -> tuple[int, str]:
    """``pdjira ARGS`` without blocking the event loop: exit status and output (stderr in it)."""
    command, env = _cli(stack, args, {})
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode()
