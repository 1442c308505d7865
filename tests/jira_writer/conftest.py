"""Fixtures for the jira-writer: the Jira simulator on a free port, the mapping and the writer
in-process on the test's nats-server, and a watcher of the outcomes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig
from pdjira_common import streams, subjects
from pdjira_common.config import Config, parse_config
from pdjira_common.contracts import CreateIssue, TransitionIssue, encode
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_drained
from pdjira_jira_writer.handlers import CONSUMER as JIRA_WRITER_CONSUMER
from pdjira_jira_writer.main import JiraWriterService, create_service
from pdjira_mapping.handlers import CONSUMER as MAPPING_CONSUMER
from pdjira_mapping.main import MappingService
from pdjira_mapping.main import create_service as create_mapping
from pdjira_simulators.jira import JiraSettings, create_app
from pdjira_simulators.testing import running_server
from support.mapping_standin import MappingStandIn
from support.writer_fixtures import json_logs, outcomes, standin
from support.writers import FAST_RETRY, Running, SimulatorAdmin

__all__ = ["json_logs", "outcomes", "standin"]  # fixtures of this folder

INSTANCE = "dc1"
JIRA_USER = "pdjira"
JIRA_PASSWORD = "jira-test-password-81c2"
JIRA_PAT = "jira-test-pat-0d4e7b55"


class JiraSim(SimulatorAdmin):
    """The Jira simulator's base URL plus the admin calls the tests make."""

    async def issues(self, label: str | None = None) -> list[dict[str, Any]]:
        response = await self.http.get(f"{self.url}/_sim/state")
        response.raise_for_status()
        issues: list[dict[str, Any]] = response.json()["issues"]
        return [i for i in issues if label is None or label in i["fields"].get("labels", [])]

    async def issue(self, key: str) -> dict[str, Any]:
        return next(i for i in await self.issues() if i["key"] == key)

    async def create_issue(self, **body: Any) -> dict[str, Any]:
        response = await self.http.post(f"{self.url}/_sim/issues", json=body)
        response.raise_for_status()
        return dict(response.json())

    async def move(self, key: str, status: str) -> None:
        response = await self.http.post(
            f"{self.url}/_sim/issues/{key}/transition", json={"status": status}
        )
        response.raise_for_status()

    async def requests(
        self, method: str | None = None, path: str | None = None
    ) -> list[dict[str, Any]]:
        return [
            r
            for r in await self.all_requests()
            if (method is None or r["method"] == method) and (path is None or r["path"] == path)
        ]

    async def writes(self) -> list[dict[str, Any]]:
        return [
            r
            for r in await self.requests()
            if r["method"] in ("POST", "PUT", "DELETE") and r["path"] != "/rest/api/2/search"
        ]

    async def clear_requests(self) -> None:
        (await self.http.delete(f"{self.url}/_sim/requests")).raise_for_status()

    async def workflow(self, body: dict[str, Any]) -> None:
        (await self.http.put(f"{self.url}/_sim/workflow", json=body)).raise_for_status()


@pytest.fixture
async def jira_sim() -> AsyncIterator[JiraSim]:
    app = create_app(
        JiraSettings(username=JIRA_USER, password=JIRA_PASSWORD, token=JIRA_PAT, seed=7)
    )
    async with running_server(app) as url, httpx.AsyncClient(timeout=10.0) as http:
        yield JiraSim(url, http, app)


def make_config(
    nats_url: str,
    jira_url: str,
    *,
    retry: dict[str, Any] | None = None,
    auth: dict[str, Any] | None = None,
) -> Config:
    return parse_config(
        {
            "nats": {"url": nats_url},
            "jira_instances": [
                {
                    "id": INSTANCE,
                    # no scheme on purpose: http:// is the default, as in PagerDuty's app
                    "base_url": jira_url.removeprefix("http://"),
                    "auth": auth
                    or {"type": "basic", "username": JIRA_USER, "password": JIRA_PASSWORD},
                    "webhook_secret": "jira-hook-secret",
                }
            ],
            "retry": {**FAST_RETRY, **(retry or {})},
        }
    )


@pytest.fixture
async def mapping(nc: Client, nats_server: NatsServer) -> AsyncIterator[MappingService]:
    """The mapping service, in-process: the writer asks it for links."""
    config = parse_config({"nats": {"url": nats_server.url}})
    async with Running(create_mapping(config)) as service:
        yield service


@pytest.fixture
def start_writer(
    nc: Client, nats_server: NatsServer, standin: MappingStandIn, jira_sim: JiraSim
) -> Callable[..., Any]:
    """``async with start_writer(retry=..., auth=...) as service``: the jira-writer running."""

    def start(**overrides: Any) -> Running:
        return Running(create_service(make_config(nats_server.url, jira_sim.url, **overrides)))

    return start


@pytest.fixture
async def jira_writer(
    mapping: MappingService, start_writer: Callable[..., Any]
) -> AsyncIterator[JiraWriterService]:
    async with start_writer() as service:
        yield service


async def send(
    nc: Client, command: CreateIssue | TransitionIssue, *, msg_id: str | None = None
) -> None:
    """Publish a command as the rules service does (Nats-Msg-Id = the command id)."""
    await nc.jetstream().publish(
        subjects.command_jira(command.instance, command.incident.incident_id),
        encode(command),
        headers={
            "Nats-Msg-Id": msg_id or command.command_id,
            "Pdjira-Correlation-Id": command.correlation_id,
        },
    )


@pytest.fixture
def service_name() -> str:
    return "jira-writer"


async def mapping_caught_up(nc: Client) -> None:
    """Until mapping has consumed every outcome so far (e.g. recorded the link of a create)."""
    await wait_drained(nc.jetstream(), timeout=10, consumers=[MAPPING_CONSUMER])


async def taken_by_a_dying_writer(nc: Client) -> None:
    """A writer takes the next command and dies without acking (what kill -9 leaves behind):
    it comes back after the 2 s ack wait, delivered a second time."""
    js = nc.jetstream()
    # The durable of the command's partition (the stream stored it as commands.jira.<p>....).
    last = await js.get_msg(
        streams.COMMANDS, (await js.stream_info(streams.COMMANDS)).state.last_seq
    )
    partition = (last.subject or "").split(".")[2]
    dying = await js.pull_subscribe(
        f"commands.jira.{partition}.*.*",
        durable=f"{JIRA_WRITER_CONSUMER}-p{partition}",
        stream=streams.COMMANDS,
        config=ConsumerConfig(ack_wait=2.0),
    )
    [taken] = await dying.fetch(1, timeout=2)
    assert taken.metadata.num_delivered == 1
    await dying.unsubscribe()
