"""The jira-writer on a real nats-server against the Jira simulator, with the mapping running."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
from nats.aio.client import Client
from pdjira_common import streams
from pdjira_common.contracts import (
    CommandFailed,
    CreateIssue,
    DeadLetter,
    IncidentRef,
    IssueLinked,
    IssueTransitioned,
    TransitionIssue,
    WriteSkipped,
)
from pdjira_common.subjects import LINK_LOOKUP
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_drained, wait_until
from pdjira_jira_writer.handlers import CONSUMER
from pdjira_jira_writer.jira_client import HttpJiraClient
from pdjira_jira_writer.main import JiraWriterService, create_service
from pdjira_mapping.main import MappingService
from pdjira_simulators.common.ratelimit import TokenBucketLimiter
from pdjira_writer.command_log import CommandRecord, KvCommandLog
from pdjira_writer.vendor_http import HttpOptions
from support.virtual_time import Sent, TimedTransport, VirtualClock
from support.writers import JsonLogs, OutcomeWatcher, Running, asked, at_least

from .conftest import (
    INSTANCE,
    JIRA_PASSWORD,
    JIRA_PAT,
    JIRA_USER,
    JiraSim,
    make_config,
    mapping_caught_up,
    send,
    taken_by_a_dying_writer,
)

ACCOUNT = "acme"


def new_incident() -> IncidentRef:
    return IncidentRef(account=ACCOUNT, incident_id="Q" + uuid.uuid4().hex[:13].upper())


def label_of(incident: IncidentRef) -> str:
    return f"pdjira-{incident.account}-{incident.incident_id}"


def create(incident: IncidentRef, **overrides: object) -> CreateIssue:
    values: dict[str, object] = {
        "command_id": f"create-{uuid.uuid4().hex[:8]}",
        "correlation_id": f"evt-{uuid.uuid4().hex[:8]}",
        "incident": incident,
        "instance": INSTANCE,
        "project": "OPS",
        "issue_type": "Task",
        "summary": "Disk full on db-1",
        "description": "Created from PagerDuty",
        "labels": ("pagerduty",),
    }
    values.update(overrides)
    return CreateIssue(**values)  # type: ignore[arg-type]


def transition(
    incident: IncidentRef, target: str, resolution: str | None = None
) -> TransitionIssue:
    return TransitionIssue(
        command_id=f"move-{uuid.uuid4().hex[:8]}",
        correlation_id=f"evt-{uuid.uuid4().hex[:8]}",
        incident=incident,
        instance=INSTANCE,
        target_status=target,
        resolution=resolution,
    )


async def linked_issue(nc: Client, outcomes: OutcomeWatcher, incident: IncidentRef) -> IssueLinked:
    """Create the incident's issue through the writer and wait for the link to be usable."""
    command = create(incident)
    await send(nc, command)
    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueLinked)
    await mapping_caught_up(nc)  # the mapping recorded the link from the same outcome
    return outcome


# ---------------------------------------------------------------- create


async def test_create_makes_one_labelled_issue(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    command = create(incident)
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueLinked)
    assert outcome.created
    assert outcome.incident == incident
    [issue] = await jira_sim.issues(label_of(incident))
    assert outcome.issue.issue_id == issue["id"]
    assert outcome.issue.key == issue["key"]
    assert outcome.issue.instance == INSTANCE
    assert issue["fields"]["summary"] == "Disk full on db-1"
    assert set(issue["fields"]["labels"]) == {"pagerduty", label_of(incident)}
    assert issue["properties"]["pdjira"] == {
        "account": ACCOUNT,
        "incident_id": incident.incident_id,
    }
    [post] = await jira_sim.requests("POST", "/rest/api/2/issue")
    assert post["user"] == JIRA_USER


async def test_create_twice_and_redelivered_makes_one_issue(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    first = create(incident)
    await send(nc, first)
    await outcomes.wait_for(first.command_id)
    await mapping_caught_up(nc)  # the second command finds the link (it does not search)
    # The same command again (past the dedup window: new Nats-Msg-Id) and a second command
    # for the same incident (a retried webhook that became a new event).
    await send(nc, first, msg_id="redelivered")
    second = create(incident)
    await send(nc, second)

    again = await outcomes.wait_for(second.command_id)
    assert isinstance(again, IssueLinked)
    assert not again.created
    assert len(await jira_sim.issues(label_of(incident))) == 1
    assert len(await jira_sim.requests("POST", "/rest/api/2/issue")) == 1
    # One outcome per command id in the stream, whatever the number of deliveries.
    await wait_drained(nc.jetstream(), timeout=10, consumers=[CONSUMER])
    assert (await nc.jetstream().stream_info(streams.OUTCOMES)).state.messages == 2


async def test_issue_created_before_a_crash_is_found_by_its_label(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    # A writer recorded the command started, created the issue, then died before publishing
    # the outcome: no link exists, the record says the command may have run.
    incident = new_incident()
    existing = await jira_sim.create_issue(
        summary="Disk full on db-1", labels=[label_of(incident)], as_user=JIRA_USER
    )
    await jira_sim.clear_requests()
    command = create(incident)
    log = KvCommandLog(lambda: nc.jetstream().key_value(streams.KV_DONE))
    await log.put(CommandRecord(command_id=command.command_id, state="started"))
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueLinked)
    assert not outcome.created
    assert outcome.issue.key == existing["key"]
    assert await jira_sim.requests("POST", "/rest/api/2/issue") == []


async def test_killed_writer_message_is_redelivered_after_ack_wait(
    nc: Client,
    jira_sim: JiraSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
) -> None:
    incident = new_incident()
    command = create(incident)
    await send(nc, command)
    # A writer takes the command and dies without acking (what kill -9 leaves behind).
    await taken_by_a_dying_writer(nc)

    async with start_writer(retry={"ack_wait": 2.0}):
        outcome = await outcomes.wait_for(command.command_id, within=10)
    assert isinstance(outcome, IssueLinked)
    assert len(await jira_sim.issues(label_of(incident))) == 1


async def test_jira_refusal_fails_with_its_message_after_one_attempt(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    # A field Jira does not know: its own 400 (project and type are resolved before).
    command = create(new_incident(), fields={"customfield_99999": "x"})
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, CommandFailed)
    assert outcome.permanent
    assert outcome.status_code == 400
    assert "customfield_99999" in outcome.reason  # Jira's own field error
    assert f"Jira instance '{INSTANCE}' refused create issue (400)" in outcome.reason
    await wait_drained(nc.jetstream(), timeout=10, consumers=[CONSUMER])
    assert len(await jira_sim.requests("POST", "/rest/api/2/issue")) == 1
    assert (await nc.jetstream().stream_info(streams.COMMANDS)).state.messages == 0
    # Kept in the DLQ with Jira's words and the hint, to be replayed after the fix.
    raw = await nc.jetstream().get_last_msg(streams.DLQ, f"dlq.COMMANDS.{CONSUMER}")
    letter = msgspec.json.decode(raw.data or b"", type=DeadLetter)
    assert (letter.reason, letter.attempts) == (outcome.reason, 1)


async def test_503_burst_is_retried_until_created_once(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    await jira_sim.faults(error_rate=1.0)
    command = create(incident)
    await send(nc, command)

    async def two_503s() -> bool:
        return len([r for r in await jira_sim.requests() if r["status"] == 503]) >= 2

    await wait_until(two_503s, timeout=10, what="two 503s")
    await jira_sim.clear_faults()

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueLinked)
    assert len(await jira_sim.issues(label_of(incident))) == 1
    assert (await nc.jetstream().stream_info(streams.DLQ)).state.messages == 0


async def test_rate_limit_waits_for_retry_after(
    nc: Client,
    nats_server: NatsServer,
    jira_sim: JiraSim,
    mapping: MappingService,
    outcomes: OutcomeWatcher,
) -> None:
    sent: list[Sent] = []
    async with VirtualClock() as clock:
        # Jira DC's bucket, on the test's virtual time (and the writer's pacer on the same).
        bucket = TokenBucketLimiter(capacity=2, fill_rate=2, interval_seconds=2, clock=clock)
        jira_sim.sim.ratelimit.limiter = bucket
        # Someone else using the integration's login has spent the bucket.
        for _ in range(2):
            spent = await jira_sim.http.get(
                f"{jira_sim.url}/rest/api/2/myself", auth=(JIRA_USER, JIRA_PASSWORD)
            )
            assert spent.status_code == 200
        config = make_config(nats_server.url, jira_sim.url)
        transport = TimedTransport(clock, sent, INSTANCE, httpx.AsyncHTTPTransport())
        options = HttpOptions(timeout=2.0, transport=transport, clock=clock, sleep=clock.sleep)
        clients = {INSTANCE: HttpJiraClient(config.jira_instances[0], options)}
        command = create(new_incident())
        async with Running(create_service(config, clients=clients)):
            await send(nc, command)
            outcome = await outcomes.wait_for(command.command_id, within=20)
    assert isinstance(outcome, IssueLinked)
    # One 429, then a wait of `Retry-After` seconds (not an immediate retry), then success.
    # A first delivery creates without searching first; project and issue type are resolved
    # from what Jira lists (then cached).
    assert [(r.method, r.path, r.status) for r in sent] == [
        ("GET", "/rest/api/2/project", 429),
        ("GET", "/rest/api/2/project", 200),
        ("GET", "/rest/api/2/issuetype", 200),
        ("POST", "/rest/api/2/issue", 201),
    ]
    first, second = sent[:2]
    assert second.at - first.at >= 0.9


async def test_timeout_after_jira_stored_the_issue_makes_no_duplicate(
    nc: Client,
    jira_sim: JiraSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
) -> None:
    incident = new_incident()
    async with start_writer(retry={"http_timeout": 0.5}):
        # A first create lists the projects and issue types (the fault below would delay
        # /rest/api/2/issuetype too: paths are prefixes).
        warm = create(new_incident())
        await send(nc, warm)
        assert isinstance(await outcomes.wait_for(warm.command_id), IssueLinked)
        # Jira stores the issue, then answers after our timeout: the write happened, unconfirmed.
        await jira_sim.faults(response_delay_ms=1500, paths=["/rest/api/2/issue"])
        command = create(incident)
        await send(nc, command)
        await wait_until(
            lambda: jira_sim.issues(label_of(incident)), timeout=10, what="the stored issue"
        )
        await jira_sim.clear_faults()
        outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueLinked)
    assert not outcome.created  # found by its label on the retry
    assert len(await jira_sim.issues(label_of(incident))) == 1


async def test_personal_access_token_auth(
    nc: Client,
    jira_sim: JiraSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
) -> None:
    async with start_writer(auth={"type": "token", "token": JIRA_PAT}):
        command = create(new_incident())
        await send(nc, command)
        outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueLinked)
    assert outcome.created


async def test_wrong_password_fails_with_a_hint_and_no_secret_anywhere(
    nc: Client,
    jira_sim: JiraSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
    json_logs: JsonLogs,
) -> None:
    wrong = "wrong-password-3b9e11"
    async with start_writer(auth={"type": "basic", "username": JIRA_USER, "password": wrong}):
        command = create(new_incident())
        await send(nc, command)
        outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, CommandFailed)
    assert outcome.status_code == 401
    assert f"check the credentials of Jira instance '{INSTANCE}'" in outcome.reason
    for secret in (wrong, JIRA_PASSWORD):
        assert secret not in outcome.reason
        assert secret not in json_logs.text
    [failed] = [line for line in json_logs.lines() if line["event"] == "command_failed"]
    assert failed["correlation_id"] == command.correlation_id
    assert failed["service"] == "jira-writer"
    assert failed["level"] == "error"


async def test_unknown_instance_fails_with_a_hint(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    command = create(new_incident(), instance="elsewhere")
    await send(nc, command)
    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, CommandFailed)
    assert "unknown Jira instance 'elsewhere' (configured: ['dc1'])" in outcome.reason
    assert await jira_sim.requests() == []


# ---------------------------------------------------------------- transition


async def test_transition_moves_the_linked_issue(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)
    command = transition(incident, "in progress")  # status names match case-insensitively
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert outcome == IssueTransitioned(
        command_id=command.command_id,
        correlation_id=command.correlation_id,
        incident=incident,
        issue=link.issue,
        from_status="To Do",
        to_status="In Progress",
        path=("In Progress",),
    )
    assert (await jira_sim.issue(link.issue.key))["fields"]["status"]["name"] == "In Progress"


async def test_transition_sets_the_resolution_on_the_screen(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)
    command = transition(incident, "Done", resolution="Won't Do")
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueTransitioned)
    fields = (await jira_sim.issue(link.issue.key))["fields"]
    assert fields["status"]["name"] == "Done"
    assert fields["resolution"]["name"] == "Won't Do"


async def test_already_in_target_status_is_skipped_without_writes(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)
    await jira_sim.move(link.issue.key, "In Progress")
    await jira_sim.clear_requests()
    command = transition(incident, "In Progress")
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, WriteSkipped)
    assert outcome.reason == f"issue {link.issue.key} is already in status 'In Progress'"
    assert await jira_sim.writes() == []


async def test_no_direct_transition_takes_the_path_through_the_workflow(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)
    await jira_sim.move(link.issue.key, "Done")
    # Done -> only Reopen (to To Do); a rule that reopens, on a cause after the move.
    later = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    command = msgspec.structs.replace(
        transition(incident, "In Progress"), reopen=True, caused_at=later
    )
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueTransitioned)
    assert outcome.from_status == "Done"
    assert outcome.path == ("To Do", "In Progress")
    assert (await jira_sim.issue(link.issue.key))["fields"]["status"]["name"] == "In Progress"


async def test_transition_waits_for_the_create_it_needs(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    move = transition(incident, "In Progress")
    async with asked(nc, LINK_LOOKUP) as lookups:
        await send(nc, move)  # before the issue exists: waits, does not fail
        # Asked for the link a second time: the first look ended in a wait, not an outcome.
        await wait_until(at_least(lookups, 2), timeout=10, what="a second link lookup")
    assert outcomes.of(move.command_id) == []
    await send(nc, create(incident))

    outcome = await outcomes.wait_for(move.command_id, within=20)
    assert isinstance(outcome, IssueTransitioned)
    [issue] = await jira_sim.issues(label_of(incident))
    assert issue["fields"]["status"]["name"] == "In Progress"
    assert (await nc.jetstream().stream_info(streams.DLQ)).state.messages == 0
