"""The pd-writer on a real nats-server against the PagerDuty simulator."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import msgspec
from nats.aio.client import Client
from pdjira_common import streams
from pdjira_common.contracts import (
    CommandFailed,
    DeadLetter,
    IncidentRef,
    IncidentUpdated,
    UpdateIncident,
    WriteSkipped,
)
from pdjira_common.subjects import unpartitioned
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_drained, wait_until
from pdjira_pd_writer.handlers import CONSUMER
from pdjira_pd_writer.main import PdWriterService, create_service
from pdjira_pd_writer.pd_client import HttpPagerDutyClient
from pdjira_writer.vendor_http import HttpOptions
from support.mapping_standin import MappingStandIn
from support.virtual_time import Sent, TimedTransport, VirtualClock
from support.writers import JsonLogs, OutcomeWatcher, Running

from .conftest import ACCOUNT, BOT_EMAIL, PD_TOKEN, PdSim, make_config, send


def update(
    incident_id: str, status: str = "resolved", command_id: str | None = None
) -> UpdateIncident:
    return UpdateIncident(
        command_id=command_id or f"cmd-{uuid.uuid4().hex[:8]}",
        correlation_id=f"evt-{uuid.uuid4().hex[:8]}",
        incident=IncidentRef(account=ACCOUNT, incident_id=incident_id),
        status=status,  # type: ignore[arg-type]
    )


async def test_resolves_the_incident_with_the_from_header(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService, outcomes: OutcomeWatcher
) -> None:
    incident_id = await pd_sim.trigger()
    command = update(incident_id)
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert outcome == IncidentUpdated(
        command_id=command.command_id,
        correlation_id=command.correlation_id,
        incident=command.incident,
        from_status="triggered",
        to_status="resolved",
    )
    assert (await pd_sim.incident(incident_id))["status"] == "resolved"
    [put] = await pd_sim.requests("PUT")
    assert put["path"] == f"/incidents/{incident_id}"
    assert put["from"] == BOT_EMAIL


async def test_already_resolved_is_skipped_without_a_write(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService, outcomes: OutcomeWatcher
) -> None:
    incident_id = await pd_sim.trigger()
    await pd_sim.set_status(incident_id, "resolved")
    command = update(incident_id)
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, WriteSkipped)
    assert outcome.reason == f"incident {incident_id} is already resolved"
    assert await pd_sim.requests("PUT") == []


async def test_redelivered_command_writes_once_and_states_one_outcome(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService, outcomes: OutcomeWatcher
) -> None:
    incident_id = await pd_sim.trigger()
    command = update(incident_id, "acknowledged")
    # The same command delivered again after the dedup window (a new Nats-Msg-Id) ...
    await send(nc, command, msg_id="first")
    await outcomes.wait_for(command.command_id)
    await send(nc, command, msg_id="second")
    await wait_drained(nc.jetstream(), timeout=10, consumers=[CONSUMER])

    assert len(await pd_sim.requests("PUT")) == 1
    # ... converges (skip), and its outcome is deduplicated by `outcome:<command_id>`.
    info = await nc.jetstream().stream_info(streams.OUTCOMES)
    assert info.state.messages == 1
    assert (await pd_sim.incident(incident_id))["status"] == "acknowledged"


async def test_unknown_incident_fails_permanently_after_one_attempt(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService, outcomes: OutcomeWatcher
) -> None:
    command = update("PNOSUCH")
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, CommandFailed)
    assert outcome.permanent
    assert outcome.status_code == 404
    assert "Not Found" in outcome.reason
    assert "does not exist in PagerDuty account 'acme'" in outcome.reason
    await wait_drained(nc.jetstream(), timeout=10, consumers=[CONSUMER])
    assert len(await pd_sim.requests("GET")) == 1
    assert (await nc.jetstream().stream_info(streams.COMMANDS)).state.messages == 0


async def test_from_that_is_no_user_fails_with_a_hint(
    nc: Client, pd_sim: PdSim, start_writer: Callable[..., Any], outcomes: OutcomeWatcher
) -> None:
    incident_id = await pd_sim.trigger()
    async with start_writer(from_email="nobody@example.com"):
        command = update(incident_id)
        await send(nc, command)
        outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, CommandFailed)
    assert outcome.status_code == 400
    assert "Requester User Not Found" in outcome.reason
    assert "from_email of account 'acme'" in outcome.reason
    assert len(await pd_sim.requests("PUT")) == 1
    assert (await pd_sim.incident(incident_id))["status"] == "triggered"


async def test_503_burst_is_retried_until_applied_once(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService, outcomes: OutcomeWatcher
) -> None:
    incident_id = await pd_sim.trigger()
    await pd_sim.faults(error_rate=1.0)
    command = update(incident_id)
    await send(nc, command)

    async def failing_calls_at_least(count: int) -> bool:
        return len([r for r in await pd_sim.requests() if r["status"] == 503]) >= count

    await wait_until(lambda: failing_calls_at_least(2), timeout=10, what="two 503s")
    await pd_sim.clear_faults()

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IncidentUpdated)
    assert [r["status"] for r in await pd_sim.requests("PUT")] == [200]
    assert (await nc.jetstream().stream_info(streams.DLQ)).state.messages == 0


async def test_rate_limit_waits_for_ratelimit_reset(
    nc: Client,
    nats_server: NatsServer,
    pd_sim: PdSim,
    standin: MappingStandIn,
    outcomes: OutcomeWatcher,
) -> None:
    incident_id = await pd_sim.trigger()
    # PagerDuty's 429 (code 2020, ratelimit-reset: 2) to the writer's next call, as when
    # someone else using the token has spent this window's budget.
    await pd_sim.ratelimit(limit=960, window_seconds=2)
    await pd_sim.faults(throttle_burst=1)
    sent: list[Sent] = []
    async with VirtualClock() as clock:  # the writer's pacer waits on virtual time
        config = make_config(nats_server.url, pd_sim.url)
        transport = TimedTransport(clock, sent, ACCOUNT, httpx.AsyncHTTPTransport())
        options = HttpOptions(timeout=2.0, transport=transport, clock=clock, sleep=clock.sleep)
        clients = {ACCOUNT: HttpPagerDutyClient(config.pagerduty_accounts[0], options)}
        command = update(incident_id)
        async with Running(create_service(config, clients=clients)):
            await send(nc, command)
            outcome = await outcomes.wait_for(command.command_id, within=20)
    assert isinstance(outcome, IncidentUpdated)
    # One 429, then a wait of `ratelimit-reset` seconds (not an immediate retry), then success.
    assert [(r.method, r.status) for r in sent] == [
        ("GET", 429),
        ("GET", 200),
        ("PUT", 200),
    ]
    first, second = sent[:2]
    assert second.at - first.at >= 1.0


async def test_secrets_stay_out_of_outcomes_and_logs(
    nc: Client,
    pd_sim: PdSim,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
    json_logs: JsonLogs,
) -> None:
    wrong = "wrong-token-7c1d2e9a"
    incident_id = await pd_sim.trigger()
    async with start_writer(token=wrong):
        command = update(incident_id)
        await send(nc, command)
        outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, CommandFailed)
    assert outcome.status_code == 401
    assert "check the API token of PagerDuty account 'acme'" in outcome.reason
    for secret in (wrong, PD_TOKEN):
        assert secret not in outcome.reason
        assert secret not in json_logs.text
    [failed] = [line for line in json_logs.lines() if line["event"] == "command_failed"]
    assert failed["correlation_id"] == command.correlation_id
    assert failed["service"] == "pd-writer"


async def test_configured_ack_wait_is_applied_to_an_existing_consumer(
    nc: Client, start_writer: Callable[..., Any]
) -> None:
    js = nc.jetstream()
    async with start_writer() as service:
        assert (await js.consumer_info(streams.COMMANDS, f"{CONSUMER}-p0")).config.ack_wait == 5.0
    # Stopping the app closes the HTTP clients (after the broker finished its work).
    assert service.writer.clients[ACCOUNT].http.closed  # type: ignore[attr-defined]
    # Restarted with another ack_wait: the durable consumer follows the config.
    async with start_writer(retry={"ack_wait": 2.0}):
        assert (await js.consumer_info(streams.COMMANDS, f"{CONSUMER}-p0")).config.ack_wait == 2.0


async def test_undecodable_command_is_dead_lettered_at_once(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService, outcomes: OutcomeWatcher
) -> None:
    js = nc.jetstream()
    await js.publish(
        "commands.pd.acme.PX", b'{"type": "pd.snooze_incident.v9"}', headers={"Nats-Msg-Id": "x"}
    )
    incident_id = await pd_sim.trigger()
    command = update(incident_id)
    await send(nc, command)

    # The command behind it is not held up by retries of the one that cannot be read.
    assert isinstance(await outcomes.wait_for(command.command_id), IncidentUpdated)
    sub = await js.pull_subscribe("dlq.>", durable="inspect", stream=streams.DLQ)
    [msg] = await sub.fetch(1, timeout=5)
    letter = msgspec.json.decode(msg.data, type=DeadLetter)
    assert letter.attempts == 1
    assert unpartitioned(letter.subject) == "commands.pd.acme.PX"
    assert "cannot decode the command" in letter.reason
    assert "replay it from the DLQ" in letter.reason
