"""The integration user's time zone (for JQL dates) and a search Jira refuses, over NATS,
answered by a fake jira-writer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common.contracts import encode
from pdjira_common.jira_zone import JiraTimeZoneReply
from pdjira_common.requests import JiraSearchReply
from pdjira_rules.reads import JiraZones, JqlFallback, JqlRejected, NatsReads


@pytest.fixture
async def zone_answers(nc: Client) -> AsyncIterator[list[str | None]]:
    """Answers reads.jira.dc1.time_zone with the first of the list (then drops it)."""
    answers: list[str | None] = []

    async def answer(msg: Msg) -> None:
        await msg.respond(encode(JiraTimeZoneReply(time_zone=answers.pop(0))))

    sub = await nc.subscribe("reads.jira.dc1.time_zone", cb=answer)
    await nc.flush()
    try:
        yield answers
    finally:
        await sub.unsubscribe()


async def test_the_zone_is_read_once_per_ttl(nc: Client, zone_answers: list[str | None]) -> None:
    now = [0.0]
    zones = JiraZones(NatsReads(lambda: nc, timeout=1.0), ttl=600, clock=lambda: now[0])
    zone_answers.extend(["Europe/Berlin", "America/New_York"])
    assert await zones.zone("dc1") == ZoneInfo("Europe/Berlin")
    now[0] = 599.0
    assert await zones.zone("dc1") == ZoneInfo("Europe/Berlin")  # not asked again
    now[0] = 601.0
    assert await zones.zone("dc1") == ZoneInfo("America/New_York")
    assert zone_answers == []


async def test_an_unknown_or_missing_zone_is_none(
    nc: Client, zone_answers: list[str | None]
) -> None:
    now = [0.0]
    zones = JiraZones(
        NatsReads(lambda: nc, timeout=1.0), ttl=600, retry_after=30, clock=lambda: now[0]
    )
    zone_answers.extend(["Mars/Olympus_Mons", None, "UTC"])
    assert await zones.zone("dc1") is None
    now[0] = 31.0
    assert await zones.zone("dc1") is None
    now[0] = 62.0
    assert await zones.zone("dc1") == ZoneInfo("UTC")


async def test_no_jira_writer_is_no_zone(nc: Client) -> None:
    now = [0.0]
    zones = JiraZones(NatsReads(lambda: nc, timeout=0.5), retry_after=30, clock=lambda: now[0])
    assert await zones.zone("dc1") is None  # no responders: at once, not after the timeout
    assert await zones.zone("dc1") is None


async def test_a_search_jira_refuses_is_jql_rejected_not_retryable(nc: Client) -> None:
    async def answer(msg: Msg) -> None:
        reply = JiraSearchReply(error="Jira refused search (400): bad", rejected=True)
        await msg.respond(encode(reply))

    sub = await nc.subscribe("reads.jira.dc1.search", cb=answer)
    await nc.flush()
    try:
        jql = JqlFallback(NatsReads(lambda: nc, timeout=1.0), ttl=10.0)
        with pytest.raises(JqlRejected) as caught:
            await jql.ask("dc1", "OPS-1", "summary = x")
        assert caught.value.jql == "summary = x"
        assert caught.value.reason == "Jira refused search (400): bad"
    finally:
        await sub.unsubscribe()


async def test_a_search_refused_for_the_issue_key_is_no_match_not_a_bad_rule(nc: Client) -> None:
    async def answer(msg: Msg) -> None:
        reason = (
            "Jira refused search (400): An issue with key 'OPS-1' does not exist for field 'key'."
        )
        await msg.respond(encode(JiraSearchReply(error=reason, rejected=True)))

    sub = await nc.subscribe("reads.jira.dc1.search", cb=answer)
    await nc.flush()
    try:
        jql = JqlFallback(NatsReads(lambda: nc, timeout=1.0), ttl=10.0)
        assert await jql.ask("dc1", "OPS-1", "summary ~ port") is False  # the issue is gone
    finally:
        await sub.unsubscribe()
