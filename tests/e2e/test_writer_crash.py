"""kill -9 of the jira-writer while a create is in flight still ends with exactly one issue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import ACCOUNT, Stack
from pdjira_devstack.waiting import SimulatorState, wait_until

from .conftest import SHARED_STACK
from .helpers import Quiet

# On the shared stack: the test puts back what it changes (Jira's faults, the killed writer) and
# waits until all is quiet before it ends, so the next test finds a stack like any other.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]


@pytest.fixture
async def put_back(stack: Stack, http: httpx.AsyncClient) -> AsyncIterator[None]:
    """Whatever happens in the test: no Jira fault left, the jira-writer running."""
    yield
    (await http.delete(f"{stack.jira_url}/_sim/faults")).raise_for_status()
    writer = stack["jira-writer"]
    if not writer.running:
        await writer.start().healthy()


@pytest.mark.usefixtures("put_back")
async def test_writer_killed_mid_create_leaves_one_issue(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    # Jira stores the issue, then takes 5 s to answer: the writer is killed in that gap.
    await http.put(
        f"{stack.jira_url}/_sim/faults",
        json={"response_delay_ms": 5000, "paths": ["/rest/api/2/issue"]},
    )
    incident = await trigger_incident(http, stack.pd_url, "Writer dies mid-create")

    async def created() -> list | None:
        return await sims.issues_for_incident(ACCOUNT, incident["id"]) or None

    await wait_until(created, timeout=30, what="the issue to exist in Jira")
    stack["jira-writer"].kill()
    await http.delete(f"{stack.jira_url}/_sim/faults")

    await stack["jira-writer"].start().healthy()
    # The redelivered command must find the issue instead of creating a second one,
    # and the link must be recorded so the incident's later changes reach the issue.
    await http.post(
        f"{stack.pd_url}/_sim/incidents/{incident['id']}/status",
        json={"status": "acknowledged"},
    )
    issues = await sims.issues_for_incident(ACCOUNT, incident["id"])
    key = issues[0]["key"]

    async def in_progress() -> bool:
        return (await sims.issue(key))["fields"]["status"]["name"] == "In Progress"

    await wait_until(in_progress, timeout=40, what=f"{key} in progress after the restart")
    await quiet()  # the redelivered create and every echo have been handled
    issues = await sims.issues_for_incident(ACCOUNT, incident["id"])
    assert [i["key"] for i in issues] == [key]
