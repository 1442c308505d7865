"""Rules service fixtures: the service's broker in-process on a real nats-server, a fake
mapping service (core NATS responders on the link, echo and pair subjects) standing in for the
real one, and the signals tests wait on (the rules consumer drained)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from faststream import TestApp
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import RawStreamMsg
from pdjira_common import streams, subjects
from pdjira_common.bus import CORRELATION_HEADER, MSG_ID_HEADER
from pdjira_common.config import Config, parse_config
from pdjira_common.contracts import (
    AnyEvent,
    IncidentEvent,
    IncidentEventV1,
    IncidentRef,
    IssueRef,
    Link,
    LinkQuery,
    LinkReply,
    encode,
)
from pdjira_common.requests import (
    ECHO_CONSUME,
    PAIR_LOOKUP,
    EchoConsume,
    EchoReply,
    PairLookup,
    PairReply,
)
from pdjira_common.streams import Topology
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_drained
from pdjira_rules.main import CONSUMER, build

_query = msgspec.json.Decoder(LinkQuery)
_consume = msgspec.json.Decoder(EchoConsume)
_pair = msgspec.json.Decoder(PairLookup)


@dataclass
class FakeMapping:
    """Answers link lookups from ``links``; ``queries`` records what was asked; the next
    ``fail_next`` lookups get an empty reply (what a broken mapping looks like to the client).
    Echo consumes match (and remove) ``marks`` as (system, entity, field, value); pair lookups
    answer from ``pairs`` (note id, comment id)."""

    nc: Client
    links: list[Link] = field(default_factory=list)
    queries: list[LinkQuery] = field(default_factory=list)
    fail_next: int = 0
    marks: list[tuple[str, str, str, str]] = field(default_factory=list)
    consumed: list[EchoConsume] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    _subs: list[Subscription] = field(default_factory=list)

    async def start(self) -> FakeMapping:
        self._subs = [
            await self.nc.subscribe(subjects.LINK_LOOKUP, cb=self._answer),
            await self.nc.subscribe(ECHO_CONSUME, cb=self._echo),
            await self.nc.subscribe(PAIR_LOOKUP, cb=self._pair),
        ]
        await self.nc.flush()
        return self

    async def stop(self) -> None:
        for sub in self._subs:
            await sub.unsubscribe()
        self._subs = []

    async def _echo(self, msg: Msg) -> None:
        query = _consume.decode(msg.data)
        self.consumed.append(query)
        mark = (query.system, query.entity, query.field, query.value)
        matched = mark in self.marks
        if matched:
            self.marks.remove(mark)
        await msg.respond(encode(EchoReply(matched=matched)))

    async def _pair(self, msg: Msg) -> None:
        query = _pair.decode(msg.data)
        for note_id, comment_id in self.pairs:
            if note_id == query.note_id or comment_id == query.comment_id:
                await msg.respond(encode(PairReply(note_id=note_id, comment_id=comment_id)))
                return
        await msg.respond(encode(PairReply(note_id=query.note_id, comment_id=query.comment_id)))

    async def _answer(self, msg: Msg) -> None:
        query = _query.decode(msg.data)
        self.queries.append(query)
        if self.fail_next > 0:
            self.fail_next -= 1
            await msg.respond(b"")
            return
        await msg.respond(encode(LinkReply(link=self._find(query))))

    def _find(self, query: LinkQuery) -> Link | None:
        for link in self.links:
            if query.incident is not None and link.incident == query.incident:
                return link
            if (query.instance, query.issue_id) == (link.issue.instance, link.issue.issue_id):
                return link
        return None


def rules_config(nats_url: str, **more: Any) -> Config:
    """The test config; ``more``: top-level sections to add or replace."""
    return parse_config(
        {
            "nats": {"url": nats_url},
            "pagerduty_accounts": [
                {"id": "acme", "token": "pd-token-rules", "from_email": "bot@example.com"}
            ],
            "jira_instances": [
                {
                    "id": "dc1",
                    "base_url": "jira.example.com",
                    "auth": {"type": "token", "token": "jira-pat-rules"},
                    "webhook_secret": "jira-hook-secret",
                }
            ],
            "rules": [
                {
                    "name": "ops",
                    "account": "acme",
                    "instance": "dc1",
                    "project": "OPS",
                    "issue_type": "Task",
                    "on_acknowledge": "In Progress",
                    "on_resolve": "Done",
                    "resolution": "Done",
                    "resolve_when_status": ["Done"],
                }
            ],
            # quick retries so tests that recover from a failure finish fast
            "retry": {"base_delay": 0.1, "max_delay": 0.3, "max_attempts": 50},
            # The fake mapping links no people: these tests mean people's changes applied.
            "mapping": {"unlinked_users": "integration_user"},
            **more,
        }
    )


@pytest.fixture
async def mapping(nc: Client) -> AsyncIterator[FakeMapping]:
    fake = FakeMapping(nc)
    try:
        yield fake
    finally:
        await fake.stop()


RunRules = Callable[..., Awaitable[None]]


@pytest.fixture
async def run_rules(nats_server: NatsServer, nc: Client) -> AsyncIterator[RunRules]:
    """Call to start the rules app (its real wiring: broker, consumer, startup hooks);
    keywords add or replace top-level config sections (see :func:`rules_config`)."""
    runner: TestApp | None = None

    async def start(**more: Any) -> None:
        nonlocal runner
        config = rules_config(nats_server.url, **more)
        _, app = build(config, topology=Topology(events_duplicate_window=120.0))
        app_runner = TestApp(app)
        await app_runner.__aenter__()
        runner = app_runner

    try:
        yield start
    finally:
        if runner is not None:
            await runner.__aexit__()


async def stream_messages(nc: Client, stream: str) -> list[RawStreamMsg]:
    js = nc.jetstream()
    state = (await js.stream_info(stream)).state
    if not state.messages:
        return []
    found = []
    for seq in range(state.first_seq, state.last_seq + 1):
        try:
            found.append(await js.get_msg(stream, seq))
        except Exception:  # noqa: S112 - deleted sequence (work queue): skip it
            continue
    return found


async def publish_event(nc: Client, event: AnyEvent, msg_id: str) -> None:
    """Into stream EVENTS as ingest publishes (any version of event)."""
    if isinstance(event, IncidentEvent | IncidentEventV1):
        subject = subjects.event_pd(event.account, event.incident_id)
    else:
        subject = subjects.event_jira(event.instance, event.issue_id)
    await nc.jetstream().publish(
        subject,
        encode(event),
        stream=streams.EVENTS,
        headers={MSG_ID_HEADER: msg_id, CORRELATION_HEADER: event.correlation_id},
    )


async def drained(nc: Client, timeout: float = 10.0) -> None:
    """Until the rules consumer has been given every event and acked each (retries done)."""
    await wait_drained(nc.jetstream(), timeout=timeout, consumers=[CONSUMER])


def incident_link(incident_id: str = "PGR0VU2") -> Link:
    return Link(
        incident=IncidentRef(account="acme", incident_id=incident_id),
        issue=IssueRef(instance="dc1", issue_id="10100", key="OPS-4"),
        created_at="2020-10-02T18:45:30Z",
    )
