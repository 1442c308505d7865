"""Who PagerDuty writes are made as, notes from comments, echo marks and reads: the pd-writer
on a real nats-server against the PagerDuty simulator, mapping's request/reply stood in."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import msgspec
import pytest
from nats.aio.client import Client
from pdjira_common import streams
from pdjira_common.contracts import (
    AddNote,
    IncidentRef,
    IncidentUpdated,
    IssueRef,
    NoteAdded,
    UpdateIncident,
    WriteSkipped,
    encode,
)
from pdjira_common.requests import (
    JiraUser,
    PdUser,
    PdUserRead,
    PdUserReply,
    PdUserSearch,
    UserReply,
    body_digest,
    pd_read_subject,
)
from pdjira_devstack.waiting import wait_until
from pdjira_pd_writer.decisions import Actor, choose_from, jira_author, note_text
from pdjira_pd_writer.main import PdWriterService
from pdjira_pd_writer.pd_client import HttpPagerDutyClient
from pdjira_pd_writer.writer import PdWriter
from pdjira_simulators.pagerduty import PagerDutySettings, create_app
from pdjira_writer.vendor_http import HttpOptions
from starlette.applications import Starlette
from support.mapping_standin import MappingStandIn
from support.virtual_time import Sent, TimedTransport, VirtualClock
from support.writer_standins import AgreeingMapping, MemoryLastWrites
from support.writers import OutcomeWatcher

from .conftest import ACCOUNT, BOT_EMAIL, PD_TOKEN, PdSim, make_config, send

ISSUE = IssueRef(instance="dc1", issue_id="10100", key="OPS-1")
PAT = PdUser(id="PUSER01", email="pat@example.com", name="Pat Oncall")


@pytest.mark.parametrize(
    ("reply", "integration", "expected"),
    [
        (UserReply(pd_user=PAT, source="manual"), BOT_EMAIL, Actor("pat@example.com", "manual")),
        (
            UserReply(pd_user=PAT, source="fallback"),
            BOT_EMAIL,
            Actor("pat@example.com", "fallback"),
        ),
        (UserReply(reason="nobody"), BOT_EMAIL, Actor(BOT_EMAIL, "integration")),
        (None, BOT_EMAIL, Actor(BOT_EMAIL, "integration")),
        (
            UserReply(pd_user=PdUser(id="P1"), source="email"),
            BOT_EMAIL,
            Actor(BOT_EMAIL, "integration"),
        ),
    ],
)
def test_from_is_the_mapped_user_then_fallback_then_integration(
    reply: UserReply | None, integration: str, expected: Actor
) -> None:
    assert choose_from(reply, integration) == expected


def test_nobody_to_act_as_skips_with_a_reason() -> None:
    actor = choose_from(UserReply(reason="no link, no e-mail match, no fallback"), " ")
    assert actor.email is None
    assert "no PagerDuty user to act as (no link, no e-mail match, no fallback)" in actor.why
    assert "pagerduty_accounts[].from_email" in actor.why


def test_note_names_the_jira_author_unless_written_as_them() -> None:
    assert note_text(" Fixed. ", Actor("pat@example.com", "manual"), "JIRAUSER10100") == "Fixed."
    assert (
        note_text("Fixed.", Actor(BOT_EMAIL, "integration"), "JIRAUSER10100")
        == "[JIRAUSER10100 in Jira]\nFixed."
    )


def test_the_note_names_the_jira_author_by_display_name() -> None:
    command = AddNote(
        command_id="c1",
        correlation_id="e1",
        incident=IncidentRef(account=ACCOUNT, incident_id="P1"),
        issue=ISSUE,
        comment_id="10500",
        body="Fixed.",
        author_jira_user_key="JIRAUSER10100",
        author_jira_user_name="jdoe",
        author_display_name="John Doe",
    )
    found = JiraUser(name="jdoe", key="JIRAUSER10100", display_name="J. Doe")
    assert jira_author(command, found) == "John Doe"  # as the event showed it
    bare = msgspec.structs.replace(command, author_display_name=None)
    assert jira_author(bare, found) == "J. Doe"  # as mapping found them
    assert jira_author(bare, None) == "jdoe"
    older = msgspec.structs.replace(bare, author_jira_user_name=None)  # an older publisher
    assert jira_author(older, None) == "JIRAUSER10100"
    assert (
        note_text("Fixed.", Actor(BOT_EMAIL, "integration"), jira_author(command, None))
        == "[John Doe in Jira]\nFixed."
    )


def update(incident_id: str, status: str, actor: str | None) -> UpdateIncident:
    return UpdateIncident(
        command_id=f"cmd-{uuid.uuid4().hex[:8]}",
        correlation_id=f"evt-{uuid.uuid4().hex[:8]}",
        incident=IncidentRef(account=ACCOUNT, incident_id=incident_id),
        status=status,  # type: ignore[arg-type]
        cause=ISSUE,
        actor_user_key=actor,
    )


def note(incident_id: str, comment_id: str, body: str, author: str | None) -> AddNote:
    return AddNote(
        command_id=f"note-{uuid.uuid4().hex[:8]}",
        correlation_id=f"evt-{uuid.uuid4().hex[:8]}",
        incident=IncidentRef(account=ACCOUNT, incident_id=incident_id),
        issue=ISSUE,
        comment_id=comment_id,
        body=body,
        author_jira_user_key=author,
    )


async def send_any(nc: Client, command: UpdateIncident | AddNote) -> None:
    await nc.jetstream().publish(
        f"commands.pd.{ACCOUNT}.{command.incident.incident_id}",
        encode(command),
        headers={"Nats-Msg-Id": command.command_id},
    )


async def test_status_write_is_made_as_the_mapped_user_and_marked_first(
    nc: Client,
    pd_sim: PdSim,
    pd_writer: PdWriterService,
    outcomes: OutcomeWatcher,
    standin: MappingStandIn,
) -> None:
    standin.pd_users["JIRAUSER10100"] = PAT
    incident_id = await pd_sim.trigger()
    command = update(incident_id, "acknowledged", "JIRAUSER10100")
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IncidentUpdated)
    [put] = await pd_sim.requests("PUT")
    assert put["from"] == "pat@example.com"
    [lookup] = standin.user_lookups
    assert (lookup.account, lookup.instance, lookup.jira_user_key) == (
        ACCOUNT,
        "dc1",
        "JIRAUSER10100",
    )
    [mark] = standin.marks
    assert (mark.system, mark.entity, mark.field, mark.value) == (
        "pd",
        f"pd:{ACCOUNT}:{incident_id}",
        "status",
        "acknowledged",
    )


async def test_unmapped_user_writes_as_the_integration_user(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService, outcomes: OutcomeWatcher
) -> None:
    incident_id = await pd_sim.trigger()
    command = update(incident_id, "resolved", "JIRAUSER99999")
    await send(nc, command)
    assert isinstance(await outcomes.wait_for(command.command_id), IncidentUpdated)
    [put] = await pd_sim.requests("PUT")
    assert put["from"] == BOT_EMAIL


async def test_no_echo_mark_means_no_write_until_mapping_answers(
    nc: Client,
    pd_sim: PdSim,
    pd_writer: PdWriterService,
    outcomes: OutcomeWatcher,
    standin: MappingStandIn,
) -> None:
    incident_id = await pd_sim.trigger()
    standin.silent = True
    command = update(incident_id, "resolved", None)
    await send(nc, command)

    async def tried_twice() -> bool:
        return standin.unanswered >= 2  # two attempts, well inside the retry bound

    await wait_until(tried_twice, timeout=10, what="two unanswered echo marks", interval=0.05)
    assert await pd_sim.requests("PUT") == []  # never written unmarked
    assert outcomes.received == []
    await standin.resume()  # answers the mark the writer waits for now
    outcome = await outcomes.wait_for(command.command_id, within=20)
    assert (await nc.jetstream().stream_info(streams.DLQ)).state.messages == 0
    assert isinstance(outcome, IncidentUpdated)
    [put] = await pd_sim.requests("PUT")
    assert put["from"] == BOT_EMAIL


async def test_comment_becomes_one_note_as_the_mapped_user(
    nc: Client,
    pd_sim: PdSim,
    pd_writer: PdWriterService,
    outcomes: OutcomeWatcher,
    standin: MappingStandIn,
) -> None:
    standin.pd_users["JIRAUSER10100"] = PAT
    incident_id = await pd_sim.trigger()
    command = note(incident_id, "10500", "Root cause: full disk.\n", "JIRAUSER10100")
    await send_any(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, NoteAdded)
    assert outcome.comment_id == "10500"
    assert outcome.issue == ISSUE
    state = (await pd_sim.http.get(f"{pd_sim.url}/_sim/state")).json()
    [posted] = state["notes"][incident_id]
    assert posted["id"] == outcome.note_id
    assert posted["content"] == "Root cause: full disk."
    [post] = await pd_sim.requests("POST")
    assert post["from"] == "pat@example.com"
    [mark] = [m for m in standin.marks if m.field == "note"]
    assert mark.value == body_digest("Root cause: full disk.")

    standin.pairs["10500"] = outcome.note_id
    again = note(incident_id, "10500", "Root cause: full disk.", "JIRAUSER10100")
    await send_any(nc, again)
    skipped = await outcomes.wait_for(again.command_id)
    assert isinstance(skipped, WriteSkipped)
    assert (
        len((await pd_sim.http.get(f"{pd_sim.url}/_sim/state")).json()["notes"][incident_id]) == 1
    )


async def test_user_reads_for_mapping(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService
) -> None:
    async def ask(what: str, request: msgspec.Struct) -> PdUserReply:
        answer = await nc.request(pd_read_subject(ACCOUNT, what), encode(request), timeout=5)
        return msgspec.json.decode(answer.data, type=PdUserReply)

    by_id = await ask("user", PdUserRead(account=ACCOUNT, user_id="PUSER01"))
    assert by_id.user == PAT
    missing = await ask("user", PdUserRead(account=ACCOUNT, user_id="PNOSUCH"))
    assert missing.user is None
    assert missing.error is None
    by_email = await ask("users_by_email", PdUserSearch(account=ACCOUNT, email="PAT@example.com"))
    assert by_email.user == PAT
    unknown = await ask("user", PdUserRead(account="other", user_id="PUSER01"))
    assert unknown.error is not None
    assert "unknown PagerDuty account 'other'" in unknown.error


def in_process(app: Starlette) -> PdSim:
    """The simulator's admin calls, over ASGI."""
    return PdSim("http://pd.test", httpx.AsyncClient(transport=httpx.ASGITransport(app=app)), app)


def rig(clock: VirtualClock, apps: dict[str, Starlette], sent: list[Sent]) -> PdWriter:
    """A PdWriter whose clients talk to ``apps`` (one per account) in-process, on ``clock``."""
    config = make_config("nats://unused", "http://pd.test")
    template = config.pagerduty_accounts[0]

    def client(account: str) -> HttpPagerDutyClient:
        target = msgspec.structs.replace(template, id=account, api_url=f"http://{account}.test")
        inner = httpx.ASGITransport(app=apps[account])
        transport = TimedTransport(clock, sent, account, inner, latency=0.005)
        options = HttpOptions(timeout=2.0, transport=transport, clock=clock, sleep=clock.sleep)
        return HttpPagerDutyClient(target, options)

    return PdWriter(
        clients={account: client(account) for account in apps},
        mapping=AgreeingMapping(),
        last_writes=MemoryLastWrites(),
    )


async def test_429_burst_pauses_that_token_only() -> None:
    sent: list[Sent] = []
    async with VirtualClock() as clock:
        apps = {
            ACCOUNT: create_app(PagerDutySettings(token=PD_TOKEN, seed=7)),
            "beta": create_app(PagerDutySettings(token=PD_TOKEN, seed=9)),
        }
        acme, beta = in_process(apps[ACCOUNT]), in_process(apps["beta"])
        await acme.ratelimit(limit=960, window_seconds=2)  # ratelimit-reset: 2
        await acme.faults(throttle_burst=1)
        slow_incident = await acme.trigger()
        fast_incidents = [await beta.trigger() for _ in range(3)]
        writer = rig(clock, apps, sent)
        slow = update(slow_incident, "resolved", None)
        fast = [
            msgspec.structs.replace(
                update(i, "resolved", None), incident=IncidentRef(account="beta", incident_id=i)
            )
            for i in fast_incidents
        ]
        done = await asyncio.gather(*(writer.handle(command) for command in [slow, *fast]))
        for client in writer.clients.values():
            await client.aclose()
    assert all(isinstance(outcome, IncidentUpdated) for outcome in done), done
    calls = [c for c in sent if c.target == ACCOUNT]
    assert [(c.method, c.status) for c in calls] == [("GET", 429), ("GET", 200), ("PUT", 200)]
    first, second = calls[:2]
    assert second.at - first.at >= 1.9  # nothing sent while paused
    other_calls = [c for c in sent if c.target == "beta"]
    assert len(other_calls) == 6
    assert max(c.at for c in other_calls) < second.at
