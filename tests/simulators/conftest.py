"""Fixtures: each simulator served by a real uvicorn server on a free port, plus a receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pdjira_simulators.jira import JiraSettings
from pdjira_simulators.jira import create_app as create_jira_app
from pdjira_simulators.pagerduty import PagerDutySettings
from pdjira_simulators.pagerduty import create_app as create_pd_app
from pdjira_simulators.testing import WebhookReceiver, running_server

PD_TOKEN = "test-pd-token"
PD_SECRET = "pd-webhook-secret+/=="
JIRA_SECRET = "jira-webhook-secret"
JIRA_PAT = "test-jira-pat"


@dataclass
class Sim:
    """A running simulator: its URL, an authenticated client, and the in-process object."""

    base_url: str
    client: httpx.AsyncClient
    admin: httpx.AsyncClient
    sim: Any
    receiver: WebhookReceiver
    secret: str

    async def settled(self) -> None:
        """Every webhook queued so far was attempted (and retried, or given up): what the
        receiver has now is all it gets. The proof that a webhook was *not* sent."""
        await asyncio.wait_for(self.sim.dispatcher.idle(), timeout=10)
        assert self.sim.dispatcher.pending() == 0


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as rx:
        yield rx


@pytest.fixture
async def pd(receiver: WebhookReceiver) -> AsyncIterator[Sim]:
    settings = PagerDutySettings(
        token=PD_TOKEN,
        webhook_url=receiver.url,
        webhook_secrets=(PD_SECRET,),
        webhook_retry_delay=0.05,
        seed=7,
    )
    app = create_pd_app(settings)
    headers = {
        "Authorization": f"Token token={PD_TOKEN}",
        "Accept": "application/vnd.pagerduty+json;version=2",
        "From": "pdjira-bot@example.com",
    }
    async with (
        running_server(app) as base,
        httpx.AsyncClient(base_url=base, headers=headers, trust_env=False) as client,
        httpx.AsyncClient(base_url=base, trust_env=False) as admin,
    ):
        yield Sim(base, client, admin, app.state.sim, receiver, PD_SECRET)


@pytest.fixture
async def jira(receiver: WebhookReceiver) -> AsyncIterator[Sim]:
    settings = JiraSettings(
        token=JIRA_PAT, webhook_url=receiver.url, webhook_secret=JIRA_SECRET, seed=7
    )
    app = create_jira_app(settings)
    async with (
        running_server(app) as base,
        httpx.AsyncClient(
            base_url=f"{base}/rest/api/2", auth=("admin", "admin"), trust_env=False
        ) as client,
        httpx.AsyncClient(base_url=base, trust_env=False) as admin,
    ):
        yield Sim(base, client, admin, app.state.sim, receiver, JIRA_SECRET)


@pytest.fixture
async def checked_jira(receiver: WebhookReceiver) -> AsyncIterator[Sim]:
    """A Jira simulator in contract mode (every exchange checked against the DC document);
    the test fails at teardown if any exchange violated it."""
    settings = JiraSettings(seed=3, check_contract=True, webhook_url=receiver.url)
    app = create_jira_app(settings)
    async with (
        running_server(app) as base,
        httpx.AsyncClient(
            base_url=f"{base}/rest/api/2", auth=("admin", "admin"), trust_env=False
        ) as client,
        httpx.AsyncClient(base_url=base, trust_env=False) as admin,
    ):
        yield Sim(base, client, admin, app.state.sim, receiver, "")
        violations = (await admin.get("/_sim/contract-violations")).json()["violations"]
        assert violations == []
