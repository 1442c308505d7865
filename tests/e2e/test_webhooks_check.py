"""``pdjira webhooks check [--fix]`` end to end: a deleted Jira webhook and a disabled PagerDuty
subscription are found, repaired, the path is proven with a ping that reaches ingest, and the
sync works again both ways through the repaired webhooks.

The test deletes and re-creates webhooks, so it runs on a stack of its own (``stack`` below
overrides the shared one for this module).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import nats
import pytest
from pdjira_common.webhook_admin import PingReceived, pd_ping_subject
from pdjira_devstack.stack import ACCOUNT, INSTANCE, JIRA_USER, Stack
from pdjira_devstack.waiting import SimulatorState, wait_until

from .conftest import FAST, running_stack
from .helpers import Quiet, linked_issue, pdjira_async, transition_issue, wait_incident_status

pytestmark = pytest.mark.e2e

PD_ACCEPT = "application/vnd.pagerduty+json;version=2"
JIRA_V10 = "/rest/jira-webhook/1.0/webhooks"
_ROUND_TRIP = re.compile(r"ping round trip ([\d.]+) ms")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Two ingest replicas: PagerDuty sends to the first, the check may run on the second.
    settings = dataclasses.replace(FAST, replicas={"ingest": 2})
    yield from running_stack(tmp_path_factory, "webhooks-stack", settings)


async def pdjira(stack: Stack, *args: str) -> tuple[int, str]:
    """``pdjira webhooks check ARGS --config <stack config>``: exit status and output."""
    return await pdjira_async(stack, "webhooks", "check", *args)


def pd_api(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.pd_url,
        headers={"Authorization": f"Token token={stack.env['PD_TOKEN']}", "Accept": PD_ACCEPT},
        timeout=10.0,
    )


def jira_api(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=stack.jira_url,
        auth=(JIRA_USER, stack.env["JIRA_PASSWORD"]),
        headers={"X-Atlassian-Token": "no-check"},
        timeout=10.0,
    )


async def our_subscriptions(stack: Stack) -> list[dict[str, Any]]:
    async with pd_api(stack) as pd:
        response = await pd.get("/webhook_subscriptions")
    response.raise_for_status()
    url = f"{stack.url('ingest')}/webhooks/pagerduty/{ACCOUNT}"
    return [
        s for s in response.json()["webhook_subscriptions"] if s["delivery_method"]["url"] == url
    ]


async def our_jira_webhooks(stack: Stack) -> list[dict[str, Any]]:
    async with jira_api(stack) as jira:
        response = await jira.get(JIRA_V10)
    response.raise_for_status()
    url = f"{stack.url('ingest')}/webhooks/jira/{INSTANCE}"
    return [w for w in response.json() if w["url"] == url]


async def deliveries(base_url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.get(f"{base_url}/_sim/deliveries")
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found


@pytest.fixture
async def pings(stack: Stack) -> AsyncIterator[list[PingReceived]]:
    """What ingest announces on ``ingest.pings.pd.<account>`` while the test runs."""
    heard: list[PingReceived] = []
    nc = await nats.connect(stack.nats.url)

    async def note(message: Any) -> None:
        heard.append(msgspec.json.decode(message.data, type=PingReceived))

    await nc.subscribe(pd_ping_subject(ACCOUNT), cb=note)
    await nc.flush()
    try:
        yield heard
    finally:
        await nc.close()


async def test_check_finds_fix_repairs_and_the_sync_works_again(
    stack: Stack,
    http: httpx.AsyncClient,
    sims: SimulatorState,
    quiet: Quiet,
    pings: list[PingReceived],
) -> None:
    # As the stack starts, all is well (and a check changes nothing but pings).
    code, out = await pdjira(stack)
    assert code == 0, out
    assert _ROUND_TRIP.search(out), out
    assert "Jira has no ping" in out
    (subscription,) = await our_subscriptions(stack)
    sub_id = subscription["id"]

    # Someone disables the PagerDuty subscription and deletes the Jira webhook.
    async with pd_api(stack) as pd:
        response = await pd.put(
            f"/webhook_subscriptions/{sub_id}", json={"webhook_subscription": {"active": False}}
        )
        response.raise_for_status()
    (webhook,) = await our_jira_webhooks(stack)
    async with jira_api(stack) as jira:
        (await jira.delete(f"{JIRA_V10}/{webhook['id']}")).raise_for_status()

    code, out = await pdjira(stack)
    assert code == 1, out
    assert f"subscription {sub_id} is disabled" in out, out
    assert f"no webhook sends to {stack.url('ingest')}/webhooks/jira/{INSTANCE}" in out, out
    assert "--fix" in out
    assert stack.env["JIRA_WEBHOOK_SECRET"] not in out

    code, json_out = await pdjira(stack, "--json")
    assert code == 1
    report = msgspec.json.decode(json_out)
    problems = {
        (t["system"], f["kind"]) for t in report["targets"] for f in t["findings"] if f["problem"]
    }
    assert problems == {("pagerduty", "disabled"), ("jira", "missing")}

    heard_before = len(pings)
    code, out = await pdjira(stack, "--fix")
    print(out)  # shown with -s: what a platform engineer sees
    assert code == 0, out
    assert f"fixed: update {sub_id}" in out, out
    assert "fixed: create" in out, out
    match = _ROUND_TRIP.search(out)
    assert match, out
    assert 0 < float(match.group(1)) < 15_000
    # Ingest itself announced the ping's arrival, for our subscription.

    async def heard() -> bool:
        return len(pings) > heard_before

    await wait_until(heard, timeout=10, what="ingest's ping receipt")
    assert pings[-1].subscription_id == sub_id
    for secret in (stack.env["JIRA_WEBHOOK_SECRET"], stack.env["PD_WEBHOOK_SECRET"]):
        assert secret not in out

    (subscription,) = await our_subscriptions(stack)
    assert subscription["active"] is True
    (webhook,) = await our_jira_webhooks(stack)
    assert webhook["active"] is True
    assert webhook["filters"]["issue-related-events-section"] == 'project in ("OPS")'

    code, out = await pdjira(stack)
    assert code == 0, out

    # A deleted PagerDuty subscription is re-created; PagerDuty makes its secret and shows it
    # once: the check (here on the second ingest replica) keeps it in KV, and the first
    # replica, which PagerDuty sends to, accepts the ping signed with it.
    async with pd_api(stack) as pd:
        (await pd.delete(f"/webhook_subscriptions/{sub_id}")).raise_for_status()
    code, out = await pdjira(stack, "--fix", "--account", ACCOUNT, "--url", stack.url("ingest#2"))
    print(out)
    assert code == 0, out
    assert f"no webhook subscription sends to {stack.url('ingest')}" in out, out
    assert _ROUND_TRIP.search(out), out
    assert "Jira instance" not in out  # narrowed to the account
    assert pings[-1].replica == "ingest-1"  # the replica PagerDuty sends to took the new secret
    (subscription,) = await our_subscriptions(stack)
    assert subscription["id"] != sub_id
    sub_id = subscription["id"]

    # The repaired webhooks carry a sync both ways again.
    incident, issue = await linked_issue(stack, http, sims, quiet, "After the webhook repair")
    pd_delivered = [
        d
        for d in await deliveries(stack.pd_url)
        if d["incident_id"] == incident["id"] and d["subscription_id"] == sub_id
    ]
    assert any(d["status_code"] == 202 for d in pd_delivered), pd_delivered

    await transition_issue(http, stack, issue["key"], "Done")
    await wait_incident_status(sims, incident["id"], "resolved")
    jira_delivered = [
        d
        for d in await deliveries(stack.jira_url)
        if d["issue_key"] == issue["key"] and d["subscription_id"] == str(webhook["id"])
    ]
    assert any(d["status_code"] == 202 for d in jira_delivered), jira_delivered

    # Ingest noted the Jira webhook: the check says when the last one came.
    code, out = await pdjira(stack, "--instance", INSTANCE)
    assert code == 0, out
    assert "the last webhook from this instance reached ingest at" in out, out
