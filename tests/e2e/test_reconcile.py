"""Reconciliation end to end (issue 11): Jira sends each webhook once, so changes whose webhooks
were dropped (an issue created, moved, commented) are recovered by the poller within an
interval or two; and a late acknowledge it recovers after a person resolved the incident
changes nothing (the last human change wins)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext
from pdjira_common import streams
from pdjira_common.contracts import AuditRecord, Outcome, WriteSkipped, decode_outcome, decode_trail
from pdjira_devstack.chaos_people import LABEL
from pdjira_devstack.chaos_rules import CHAOS_RULE
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import INSTANCE, Stack, StackSettings
from pdjira_devstack.waiting import SimulatorState, wait_until

from .conftest import assert_no_contract_violations
from .helpers import Quiet, notes_of, one_issue_for, quiet_signal, wait_link

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-reconcile-stack")]

INTERVAL = 2.0  # the poller's interval here: recovery is asserted within a few of them
RECOVERED = 8 * INTERVAL + 10  # a bound for a loaded machine; it usually takes one interval

SETTINGS = StackSettings(
    ack_wait=3.0,
    base_delay=0.2,
    max_delay=2.0,
    webhook_retry_delay=0.5,
    check_contract=True,
    rules=[],
    pagerduty_rules=[CHAOS_RULE],  # status both ways, comments, JQL-born incidents
    extra_config={
        "reconcile": {"interval": INTERVAL, "lookback": 60.0, "settle": 0.5},
    },
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("reconcile-stack")
    with Stack(workdir, SETTINGS) as running:
        yield running
        assert_no_contract_violations(running)


@pytest.fixture
async def bus(stack: Stack) -> AsyncIterator[Client]:
    nc = await nats.connect(stack.nats.url)
    try:
        yield nc
    finally:
        await nc.close()


@pytest.fixture
def sims(stack: Stack, http: httpx.AsyncClient) -> SimulatorState:
    return SimulatorState(http, stack.pd_url, stack.jira_url)


@pytest.fixture
def quiet(bus: Client, sims: SimulatorState) -> Quiet:
    return quiet_signal(bus.jetstream(), sims)


@pytest.fixture
async def jira_webhooks_lost(stack: Stack, http: httpx.AsyncClient) -> AsyncIterator[None]:
    """Every Jira webhook is dropped (Jira sends each once: they are gone) until the test ends."""
    (
        await http.put(f"{stack.jira_url}/_sim/webhook-faults", json={"drop_rate": 1.0})
    ).raise_for_status()
    yield
    (await http.delete(f"{stack.jira_url}/_sim/webhook-faults")).raise_for_status()


async def as_person(
    http: httpx.AsyncClient, url: str, body: dict[str, Any], *, user: str = "jdoe"
) -> dict[str, Any]:
    """What a person does in the vendor's UI (``user``: a Jira login or a PagerDuty user id)."""
    response = await http.post(url, json={**body, "as_user": user})
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


async def incident_of_issue(
    sims: SimulatorState, http: httpx.AsyncClient, key: str
) -> dict[str, Any] | None:
    response = await http.get(f"{sims.pd_url}/_sim/state")
    response.raise_for_status()
    found = [i for i in response.json()["incidents"] if i.get("incident_key") == key]
    assert len(found) <= 1, f"{len(found)} incidents for {key}"
    return found[0] if found else None


async def stream_messages(js: JetStreamContext, stream: str, subject: str) -> list[bytes]:
    """Every message of ``stream`` on ``subject`` so far (an ephemeral consumer reads them)."""
    info = await js.stream_info(stream)
    total = info.state.messages
    if not total:
        return []
    sub = await js.pull_subscribe(subject, stream=stream)
    data: list[bytes] = []
    try:
        while True:
            try:
                batch = await sub.fetch(256, timeout=0.5)
            except TimeoutError:  # nats-py raises its own or asyncio's: both are this
                return data
            data.extend(m.data for m in batch)
    finally:
        await sub.unsubscribe()


async def test_jira_changes_whose_webhooks_were_dropped_are_recovered(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, jira_webhooks_lost: None
) -> None:
    issue = await as_person(
        http,
        f"{stack.jira_url}/_sim/issues",
        {
            "project": "OPS",
            "issuetype": "Task",
            "summary": "Born while webhooks are lost",
            "labels": [LABEL],
        },
    )
    key = issue["key"]
    incident = await wait_until(
        lambda: incident_of_issue(sims, http, key), timeout=RECOVERED, what=f"an incident for {key}"
    )

    await as_person(http, f"{stack.jira_url}/_sim/issues/{key}/comment", {"body": "lost comment"})

    async def note_copied() -> bool:
        return any(
            "lost comment" in n["content"] for n in await notes_of(http, stack, incident["id"])
        )

    await wait_until(note_copied, timeout=RECOVERED, what="the dropped comment as a note")

    await as_person(http, f"{stack.jira_url}/_sim/issues/{key}/transition", {"status": "Done"})

    async def resolved() -> bool:
        return (await sims.incident(incident["id"]))["status"] == "resolved"

    await wait_until(resolved, timeout=RECOVERED, what="the incident resolved by the dropped move")
    notes = [
        n for n in await notes_of(http, stack, incident["id"]) if "lost comment" in n["content"]
    ]
    assert len(notes) == 1


async def test_a_late_acknowledge_after_a_person_resolved_changes_nothing(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet, bus: Client
) -> None:
    incident = await trigger_incident(http, stack.pd_url, "Acknowledged late, resolved meanwhile")
    issue = await one_issue_for(sims, quiet, incident["id"])
    await wait_link(stack, incident["id"])
    key = issue["key"]

    # A person starts work in Jira; its webhook is lost (Jira will not send it again).
    (
        await http.put(f"{stack.jira_url}/_sim/webhook-faults", json={"drop_rate": 1.0})
    ).raise_for_status()
    try:
        await as_person(
            http, f"{stack.jira_url}/_sim/issues/{key}/transition", {"status": "In Progress"}
        )
    finally:
        (await http.delete(f"{stack.jira_url}/_sim/webhook-faults")).raise_for_status()
    # Later, someone resolves the incident in PagerDuty.
    await as_person(
        http,
        f"{stack.pd_url}/_sim/incidents/{incident['id']}/status",
        {"status": "resolved"},
        user="PUSER01",
    )

    # Reconciliation recovers the older "In Progress" (-> acknowledge): the writer skips it.
    js = bus.jetstream()

    async def recovered_decision() -> AuditRecord | None:
        stored = await stream_messages(js, streams.AUDIT, "audit.>")
        # The writers' records are in AUDIT too: only the rules service's decisions here.
        records = [r for d in stored if isinstance(r := decode_trail(d), AuditRecord)]
        return next(
            (
                r
                for r in records
                if r.entity == f"jira:{INSTANCE}:{issue['id']}"
                and r.summary.startswith("from reconciliation")
                and r.command_ids
            ),
            None,
        )

    record = await wait_until(
        recovered_decision, timeout=RECOVERED, what="the recovered move decided"
    )

    async def outcome() -> Outcome | None:
        outcomes = [
            decode_outcome(d) for d in await stream_messages(js, streams.OUTCOMES, "outcomes.>")
        ]
        return next((o for o in outcomes if o.command_id in record.command_ids), None)

    answer = await wait_until(
        outcome, timeout=30, what="the writer's answer to the late acknowledge"
    )
    assert isinstance(answer, WriteSkipped), answer
    assert "resolved" in answer.reason
    await quiet()
    assert (await sims.incident(incident["id"]))["status"] == "resolved"
    assert (await sims.issue(key))["fields"]["status"]["name"] == "Done"
