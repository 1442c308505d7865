"""The mapping service's request/reply surface on a real nats-server: users (with fake writers
answering the read subjects), echo marks, note/comment pairs, and the state we wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common.config import Config, parse_config
from pdjira_common.contracts import (
    CommentAdded,
    IncidentRef,
    IssueRef,
    IssueTransitioned,
    NoteAdded,
    encode,
)
from pdjira_common.identity import JiraUserByKey
from pdjira_common.mapping_client import (
    MappingUnavailable,
    consume_echo,
    lookup_pair,
    lookup_user,
    mark_echo,
    request,
)
from pdjira_common.requests import (
    ECHO_CONSUME,
    EchoConsume,
    EchoMark,
    EchoReply,
    JiraUser,
    JiraUserSearch,
    JiraUsersReply,
    PairLookup,
    PdUser,
    PdUserRead,
    PdUserReply,
    UserLookup,
    jira_read_subject,
    pd_read_subject,
)
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_until
from pdjira_mapping.main import MappingService, create_service

from .test_mapping_service import publish_outcome

INCIDENT = IncidentRef(account="acme", incident_id="PABC123")
ISSUE = IssueRef(instance="dc1", issue_id="10001", key="OPS-1")


def config(url: str) -> Config:
    return parse_config(
        {
            "nats": {"url": url},
            "pagerduty_accounts": [{"id": "acme", "token": "tok-abcdef", "from_email": "b@x.io"}],
            "jira_instances": [
                {
                    "id": "dc1",
                    "base_url": "jira",
                    "auth": {"type": "token", "token": "pat-1234"},
                    "webhook_secret": "hook-1234",
                }
            ],
            "mapping": {
                "read_timeout": 0.5,
                "fallbacks": [{"account": "acme", "instance": "dc1", "jira_user": "pdjira"}],
            },
            "retry": {"base_delay": 0.1, "max_delay": 0.5, "max_attempts": 3, "ack_wait": 5.0},
        }
    )


@pytest.fixture
async def service(nc: Client, nats_server: NatsServer) -> AsyncIterator[MappingService]:
    running = create_service(config(nats_server.url))
    async with running.app:
        yield running


@pytest.fixture
async def writers(nc: Client) -> AsyncIterator[list[str]]:
    """pd-writer and jira-writer read responders: Pat exists on both sides by e-mail."""
    asked: list[str] = []

    async def pd_user(msg: Msg) -> None:
        read = msgspec.json.decode(msg.data, type=PdUserRead)
        asked.append(f"pd {read.user_id}")
        user = PdUser(id=read.user_id, email="pat@example.com") if read.user_id == "PAT" else None
        await msg.respond(encode(PdUserReply(user=user)))

    async def jira_users(msg: Msg) -> None:
        search = msgspec.json.decode(msg.data, type=JiraUserSearch)
        asked.append(f"jira {search.query}")
        users = (JiraUser(name="pat", key="JIRAUSER1", email="pat@example.com"),)
        await msg.respond(encode(JiraUsersReply(users=users)))

    async def jira_by_key(msg: Msg) -> None:
        read = msgspec.json.decode(msg.data, type=JiraUserByKey)
        asked.append(f"jira key {read.key}")
        pat = JiraUser(name="pat", key="JIRAUSER1", email="pat@example.com")
        await msg.respond(encode(JiraUsersReply(users=(pat,) if read.key == pat.key else ())))

    subs = [
        await nc.subscribe(jira_read_subject("dc1", "user_by_key"), cb=jira_by_key),
        await nc.subscribe(pd_read_subject("acme", "user"), cb=pd_user),
        await nc.subscribe(jira_read_subject("dc1", "users_by_email"), cb=jira_users),
    ]
    await nc.flush()
    try:
        yield asked
    finally:
        for sub in subs:
            await sub.unsubscribe()


@pytest.fixture
async def requester(nats_server: NatsServer) -> AsyncIterator[NatsBroker]:
    broker = NatsBroker(nats_server.url)
    await broker.connect()
    try:
        yield broker
    finally:
        await broker.stop()


async def test_user_by_email_through_the_writers_then_cached(
    service: MappingService, writers: list[str], requester: NatsBroker
) -> None:
    query = UserLookup(account="acme", instance="dc1", pd_user_id="PAT")
    reply = await lookup_user(requester, query)
    assert reply.source == "email"
    assert reply.jira_user is not None
    assert reply.jira_user.name == "pat"
    assert writers == ["pd PAT", "jira pat@example.com"]
    await lookup_user(requester, query)
    assert len(writers) == 2

    nobody = await lookup_user(
        requester, UserLookup(account="acme", instance="dc1", pd_user_id="PNOBODY")
    )
    assert nobody.source == "fallback"
    assert nobody.jira_user == JiraUser(name="pdjira", key="pdjira")


async def test_writers_down_is_an_error_in_the_reply(
    service: MappingService, requester: NatsBroker
) -> None:
    reply = await lookup_user(
        requester, UserLookup(account="acme", instance="dc1", pd_user_id="PAT")
    )
    assert reply.source is None
    assert reply.error == "no pd-writer answers reads.pd.acme.user; is it running?"


async def test_echo_mark_and_consume(service: MappingService, requester: NatsBroker) -> None:
    mark = EchoMark(system="pd", entity="pd:acme:PABC123", field="status", value="resolved")
    await mark_echo(requester, mark)
    probe = EchoConsume(system="pd", entity="pd:acme:PABC123", field="status", value="resolved")
    assert await consume_echo(requester, probe)
    assert not await consume_echo(requester, probe)


async def test_bad_requests_get_an_empty_reply(
    service: MappingService, requester: NatsBroker
) -> None:
    with pytest.raises(MappingUnavailable, match="empty reply"):
        await request(requester, UserLookup(account="a", instance="b"), ECHO_CONSUME, EchoReply,
                      timeout=2.0)  # fmt: skip


async def test_pairs_and_written_state_from_outcomes(
    nc: Client, service: MappingService, requester: NatsBroker
) -> None:
    await publish_outcome(
        nc,
        CommentAdded(
            command_id="note:acme:PN1",
            correlation_id="c",
            incident=INCIDENT,
            issue=ISSUE,
            note_id="PN1",
            comment_id="10090",
        ),
        "o1",
    )
    await publish_outcome(
        nc,
        NoteAdded(
            command_id="comment:dc1:10091",
            correlation_id="c",
            incident=INCIDENT,
            issue=ISSUE,
            comment_id="10091",
            note_id="PN2",
        ),
        "o2",
    )
    await publish_outcome(
        nc,
        IssueTransitioned(
            command_id="t",
            correlation_id="c",
            incident=INCIDENT,
            issue=ISSUE,
            from_status="To Do",
            to_status="Done",
            path=("Done",),
        ),
        "o3",
    )

    async def paired() -> bool:
        reply = await lookup_pair(requester, PairLookup(incident=INCIDENT, comment_id="10091"))
        return reply.note_id == "PN2"

    await wait_until(paired, timeout=10, what="the pair of comment 10091")
    by_note = await lookup_pair(requester, PairLookup(incident=INCIDENT, note_id="PN1"))
    assert (by_note.note_id, by_note.comment_id) == ("PN1", "10090")
    unknown = await lookup_pair(requester, PairLookup(incident=INCIDENT, note_id="PN9"))
    assert (unknown.note_id, unknown.comment_id) == ("PN9", None)

    async def state_written() -> bool:
        state = await service.registries.pairs.state(INCIDENT)
        return state is not None and state.jira_status == "Done"

    await wait_until(state_written, timeout=10, what="the last written Jira state")
    state = await service.registries.pairs.state(INCIDENT)
    assert state is not None
    assert state.jira_written_at is not None
    assert state.last_comment_at is not None
    assert state.last_note_at is not None
