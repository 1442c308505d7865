"""Convergence under faults, end to end (issue 11): an early note waits for its link and is
synced once; a stale acknowledge that arrives after a person resolved changes nothing; a
permanent vendor refusal is a dead letter that ``pdjira dlq replay`` redoes after the fix."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import ACCOUNT, Stack
from pdjira_devstack.waiting import SimulatorState, wait_until

from .conftest import SHARED_STACK
from .helpers import Quiet, add_note, comments_of, one_issue_for

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]

PDJIRA = str(Path(sys.executable).with_name("pdjira"))
REQUIRED_FIELD = "customfield_10102"


@pytest.fixture
async def put_back(stack: Stack, http: httpx.AsyncClient, quiet: Quiet) -> AsyncIterator[None]:
    """Whatever happens in the test: no fault and no create requirement left behind."""
    yield
    (await http.delete(f"{stack.jira_url}/_sim/faults")).raise_for_status()
    (await http.delete(f"{stack.jira_url}/_sim/webhook-faults")).raise_for_status()
    (await http.delete(f"{stack.pd_url}/_sim/webhook-faults")).raise_for_status()
    (
        await http.put(
            f"{stack.jira_url}/_sim/create-requirements",
            json={"project": "OPS", "issuetype": "Task", "fields": []},
        )
    ).raise_for_status()
    await quiet()


async def pdjira(stack: Stack, *args: str) -> tuple[int, str, str]:
    """Run the ``pdjira`` command against the stack's NATS, as an operator would."""
    process = await asyncio.create_subprocess_exec(
        PDJIRA,
        *args,
        "--nats",
        stack.nats.url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


@pytest.mark.usefixtures("put_back")
async def test_note_made_before_the_link_exists_is_synced_once(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    # Jira takes 3 s to create the issue: the note's webhook comes long before the link.
    await http.put(
        f"{stack.jira_url}/_sim/faults",
        json={"latency_ms": 3000, "paths": ["/rest/api/2/issue"]},
    )
    incident = await trigger_incident(http, stack.pd_url, "Note before the link")
    await add_note(http, stack, incident["id"], "seen before the issue existed")
    await http.delete(f"{stack.jira_url}/_sim/faults")

    issue = await one_issue_for(sims, quiet, incident["id"])

    async def copied() -> list[str] | None:
        texts = [c["body"] for c in await comments_of(sims, issue["key"])]
        return [t for t in texts if "seen before the issue existed" in t] or None

    await wait_until(copied, timeout=30, what="the early note as a comment")
    await quiet()
    assert len(await copied() or []) == 1


@pytest.mark.usefixtures("put_back")
async def test_permanent_refusal_is_a_dead_letter_and_replays_after_the_fix(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    # The rules service checks its config rules against Jira once the writers answer; made
    # while the field is required, that check would refuse the rule itself (for a minute).
    rules_log = stack.logs / "rules.log"

    async def config_checked() -> bool:
        return '"config_rules_checked"' in rules_log.read_text(errors="replace")

    await wait_until(config_checked, timeout=30, what="the rules' check of their config rules")
    # An admin made a field required on create: Jira refuses every create (400) until fixed.
    (
        await http.put(
            f"{stack.jira_url}/_sim/create-requirements",
            json={"project": "OPS", "issuetype": "Task", "fields": [REQUIRED_FIELD]},
        )
    ).raise_for_status()
    incident = await trigger_incident(http, stack.pd_url, "Refused until the field is fixed")

    async def listed() -> str | None:
        code, out, err = await pdjira(stack, "dlq", "list")
        assert code == 0, err
        return next((line for line in out.splitlines() if incident["id"] in line), None)

    line = await wait_until(listed, timeout=30, what="the refused create in `pdjira dlq list`")
    assert REQUIRED_FIELD in line, line  # the vendor's own words say what was wrong
    assert await sims.issues_for_incident(ACCOUNT, incident["id"]) == []

    (
        await http.put(
            f"{stack.jira_url}/_sim/create-requirements",
            json={"project": "OPS", "issuetype": "Task", "fields": []},
        )
    ).raise_for_status()
    letter_id = line.split("\t", 1)[0]
    code, out, err = await pdjira(stack, "dlq", "replay", letter_id)
    assert code == 0, (out, err)
    assert "replayed" in out

    await one_issue_for(sims, quiet, incident["id"])
    assert await listed() is None  # the letter is gone once replayed
