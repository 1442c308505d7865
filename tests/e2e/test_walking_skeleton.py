"""The walking skeleton, end to end: both directions, asserted on the simulators' state."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import ACCOUNT, Stack
from pdjira_devstack.waiting import SimulatorState
from pdjira_devstack.webhooks import signed_pagerduty_webhook

from .conftest import SHARED_STACK
from .helpers import (
    Quiet,
    linked_issue,
    one_issue_for,
    status_of,
    transition_issue,
    wait_incident_status,
    wait_issue_status,
    wait_link,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]


async def test_incident_creates_one_issue_and_status_follows(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident = await trigger_incident(http, stack.pd_url, "Disk full on db-1")
    issue = await one_issue_for(sims, quiet, incident["id"])
    assert issue["fields"]["summary"] == "Disk full on db-1"

    link = await wait_link(stack, incident["id"])
    assert link.issue.key == issue["key"]
    assert link.issue.issue_id == issue["id"]

    for pd_status, jira_status in (("acknowledged", "In Progress"), ("resolved", "Done")):
        response = await http.post(
            f"{stack.pd_url}/_sim/incidents/{incident['id']}/status", json={"status": pd_status}
        )
        response.raise_for_status()
        await wait_issue_status(sims, issue["key"], jira_status)
    # The echo of our own Done transition must not disturb PagerDuty.
    await quiet()
    assert (await sims.incident(incident["id"]))["status"] == "resolved"
    assert len(await sims.issues_for_incident(ACCOUNT, incident["id"])) == 1


async def test_issue_reaching_mapped_status_resolves_incident(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident, issue = await linked_issue(stack, http, sims, quiet, "Queue consumers stalled")

    await transition_issue(http, stack, issue["key"], "Done")
    await wait_incident_status(sims, incident["id"], "resolved")
    # Our PagerDuty write carries the From header (the integration user).
    writes = [
        r
        for r in await sims.pd_requests()
        if r["method"] == "PUT" and r["path"] == f"/incidents/{incident['id']}"
    ]
    assert len(writes) == 1
    assert writes[0]["from"] == "pdjira-bot@example.com"
    await quiet()  # the echo of our resolve must not move the issue
    assert await status_of(sims, issue["key"]) == "Done"


async def test_same_webhook_delivered_twice_creates_one_issue(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident_id = "Q" + uuid.uuid4().hex[:13].upper()
    body, headers = signed_pagerduty_webhook(
        stack.env["PD_WEBHOOK_SECRET"], incident_id, event_id=str(uuid.uuid4())
    )
    url = f"{stack.url('ingest')}/webhooks/pagerduty/{ACCOUNT}"
    first, second = await asyncio.gather(
        http.post(url, content=body, headers=headers), http.post(url, content=body, headers=headers)
    )
    third = await http.post(url, content=body, headers=headers)
    assert {first.status_code, second.status_code, third.status_code} == {202}
    await one_issue_for(sims, quiet, incident_id)


async def test_unsigned_webhook_is_refused(stack: Stack, http: httpx.AsyncClient) -> None:
    body, headers = signed_pagerduty_webhook(
        "not-the-secret", "QUNSIGNED00001", event_id=str(uuid.uuid4())
    )
    response = await http.post(
        f"{stack.url('ingest')}/webhooks/pagerduty/{ACCOUNT}", content=body, headers=headers
    )
    assert response.status_code == 401
    assert "error" in response.json()
