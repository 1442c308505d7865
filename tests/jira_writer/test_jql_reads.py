"""jira-writer reads the rules service's JQL decisions need: a search Jira refuses (400) is
marked rejected (asking again will not help), other failures are not; and the integration
user's time zone from ``GET /myself``. Real nats-server, the Jira simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client
from pdjira_common.contracts import encode
from pdjira_common.jira_zone import TIME_ZONE_READ, JiraTimeZoneRead, JiraTimeZoneReply
from pdjira_common.requests import JiraSearchRead, JiraSearchReply, jira_read_subject
from pdjira_devstack.nats_server import NatsServer
from pdjira_jira_writer.main import create_service
from pdjira_simulators.jira import JiraSettings, create_app
from pdjira_simulators.testing import running_server
from support.writers import Running

from .conftest import INSTANCE, JIRA_PASSWORD, JIRA_PAT, JIRA_USER, make_config


@pytest.fixture
async def berlin_writer(nats_server: NatsServer) -> AsyncIterator[None]:
    """A Jira whose integration user's profile zone is Europe/Berlin, and its jira-writer."""
    settings = JiraSettings(
        username=JIRA_USER,
        password=JIRA_PASSWORD,
        token=JIRA_PAT,
        seed=7,
        time_zone="Europe/Berlin",
    )
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(running_server(create_app(settings)))
        await stack.enter_async_context(Running(create_service(make_config(nats_server.url, url))))
        yield


async def ask(nc: Client, what: str, request: msgspec.Struct, reply: type[Any]) -> Any:
    answer = await nc.request(jira_read_subject(INSTANCE, what), encode(request), timeout=5)
    return msgspec.json.decode(answer.data, type=reply)


async def test_a_query_jira_refuses_is_rejected_in_jiras_words(
    nc: Client, berlin_writer: None
) -> None:
    bad = await ask(
        nc,
        "search",
        JiraSearchRead(instance=INSTANCE, jql="key = OPS-1 AND (summary = 'Port scan')"),
        JiraSearchReply,
    )
    assert bad.rejected is True
    assert bad.error is not None
    assert "The operator '=' is not supported by the 'summary' field." in bad.error

    good = await ask(
        nc, "search", JiraSearchRead(instance=INSTANCE, jql="project = OPS"), JiraSearchReply
    )
    assert (good.error, good.rejected) == (None, False)
    unknown = await ask(
        nc, "search", JiraSearchRead(instance="nope", jql="project = OPS"), JiraSearchReply
    )
    assert unknown.error is not None
    assert unknown.rejected is False  # not Jira's verdict on the query: may be asked again


async def test_the_integration_users_time_zone(nc: Client, berlin_writer: None) -> None:
    reply = await ask(nc, TIME_ZONE_READ, JiraTimeZoneRead(instance=INSTANCE), JiraTimeZoneReply)
    assert (reply.time_zone, reply.error) == ("Europe/Berlin", None)
    unknown = await ask(nc, TIME_ZONE_READ, JiraTimeZoneRead(instance="nope"), JiraTimeZoneReply)
    assert unknown.time_zone is None
    assert unknown.error is not None
