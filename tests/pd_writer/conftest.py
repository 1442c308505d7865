"""Fixtures for the pd-writer: the PagerDuty simulator on a free port, the writer in-process,
and a watcher of the outcomes it publishes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from pdjira_common import subjects
from pdjira_common.config import Config, parse_config
from pdjira_common.contracts import UpdateIncident, encode
from pdjira_devstack.nats_server import NatsServer
from pdjira_pd_writer.main import PdWriterService, create_service
from pdjira_simulators.pagerduty import PagerDutySettings, create_app
from pdjira_simulators.testing import running_server
from support.mapping_standin import MappingStandIn
from support.writer_fixtures import json_logs, outcomes, standin
from support.writers import FAST_RETRY, Running, SimulatorAdmin

__all__ = ["json_logs", "outcomes", "standin"]  # fixtures of this folder

ACCOUNT = "acme"
PD_TOKEN = "pd-test-token-5f3a9c"
BOT_EMAIL = "pdjira-bot@example.com"


class PdSim(SimulatorAdmin):
    """The PagerDuty simulator's base URL plus the admin calls the tests make."""

    async def trigger(self, title: str = "Disk full on db-1") -> str:
        response = await self.http.post(f"{self.url}/_sim/incidents", json={"title": title})
        response.raise_for_status()
        return str(response.json()["incident"]["id"])

    async def set_status(self, incident_id: str, status: str) -> None:
        response = await self.http.post(
            f"{self.url}/_sim/incidents/{incident_id}/status", json={"status": status}
        )
        response.raise_for_status()

    async def incident(self, incident_id: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.url}/_sim/state")
        return next(i for i in response.json()["incidents"] if i["id"] == incident_id)

    async def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        return [r for r in await self.all_requests() if method is None or r["method"] == method]


@pytest.fixture
async def pd_sim() -> AsyncIterator[PdSim]:
    app = create_app(PagerDutySettings(token=PD_TOKEN, seed=7))
    async with running_server(app) as url, httpx.AsyncClient(timeout=10.0) as http:
        yield PdSim(url, http, app)


def make_config(
    nats_url: str, pd_url: str, *, retry: dict[str, Any] | None = None, **account: Any
) -> Config:
    return parse_config(
        {
            "nats": {"url": nats_url},
            "pagerduty_accounts": [
                {
                    "id": ACCOUNT,
                    "api_url": pd_url,
                    "token": PD_TOKEN,
                    "from_email": BOT_EMAIL,
                    **account,
                }
            ],
            "retry": {**FAST_RETRY, **(retry or {})},
        }
    )


@pytest.fixture
def start_writer(
    nc: Client, nats_server: NatsServer, standin: MappingStandIn, pd_sim: PdSim
) -> Callable[..., Any]:
    """``async with start_writer(retry=..., **account_overrides) as service``: running."""

    def start(*, retry: dict[str, Any] | None = None, **account: Any) -> Any:
        service = create_service(make_config(nats_server.url, pd_sim.url, retry=retry, **account))
        return Running(service)

    return start


@pytest.fixture
async def pd_writer(start_writer: Callable[..., Any]) -> AsyncIterator[PdWriterService]:
    async with start_writer() as service:
        yield service


async def send(nc: Client, command: UpdateIncident, *, msg_id: str | None = None) -> None:
    """Publish a command as the rules service does (Nats-Msg-Id = the command id)."""
    await nc.jetstream().publish(
        subjects.command_pd(command.incident.account, command.incident.incident_id),
        encode(command),
        headers={
            "Nats-Msg-Id": msg_id or command.command_id,
            "Pdjira-Correlation-Id": command.correlation_id,
        },
    )


@pytest.fixture
def service_name() -> str:
    return "pd-writer"
