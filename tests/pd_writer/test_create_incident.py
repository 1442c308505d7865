"""CreateIncident: one PagerDuty incident per Jira issue, whatever the repeats, redeliveries,
lost answers and races (incident_key = the issue key), and mapping learns the link."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common import subjects
from pdjira_common.config import parse_config
from pdjira_common.contracts import (
    CommandFailed,
    CreateIncident,
    IncidentRef,
    IssueLinked,
    IssueRef,
    LinkQuery,
    LinkReply,
    encode,
)
from pdjira_common.subjects import LINK_LOOKUP
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_until
from pdjira_mapping.main import MappingService
from pdjira_mapping.main import create_service as create_mapping
from pdjira_pd_writer.catalog import find_service
from pdjira_pd_writer.errors import PagerDutyError
from pdjira_pd_writer.models import IncidentSnapshot, Service
from pdjira_pd_writer.writer import PdWriter
from pdjira_rules.routing import command_subject
from support.writer_standins import AgreeingMapping, MemoryLastWrites
from support.writers import OutcomeWatcher

from .conftest import ACCOUNT, BOT_EMAIL, PdSim

SERVICE = "PSVC001"


@pytest.fixture
async def mapping(nc: Client, nats_server: NatsServer) -> AsyncIterator[MappingService]:
    """The real mapping: answers the link lookup and records the link from the outcome."""
    service = create_mapping(parse_config({"nats": {"url": nats_server.url}}))
    await service.app.start()
    try:
        yield service
    finally:
        await service.app.stop()


def new_issue() -> IssueRef:
    number = uuid.uuid4().int % 100000
    return IssueRef(instance="dc1", issue_id=str(10000 + number), key=f"OPS-{number}")


def create(issue: IssueRef, command_id: str | None = None) -> CreateIncident:
    return CreateIncident(
        command_id=command_id or f"cmd-{uuid.uuid4().hex[:8]}",
        correlation_id=f"jira:dc1:{uuid.uuid4().hex[:8]}",
        account=ACCOUNT,
        service_id=SERVICE,
        title=f"{issue.key}: checkout is down",
        body="Created from Jira",
        issue=issue,
        urgency="high",
    )


async def send(nc: Client, command: CreateIncident, *, msg_id: str | None = None) -> None:
    await nc.jetstream().publish(
        command_subject(command),
        encode(command),
        headers={
            "Nats-Msg-Id": msg_id or command.command_id,
            "Pdjira-Correlation-Id": command.correlation_id,
        },
    )


async def incidents_with_key(sim: PdSim, key: str) -> list[dict[str, Any]]:
    response = await sim.http.get(f"{sim.url}/_sim/state")
    return [i for i in response.json()["incidents"] if i.get("incident_key") == key]


async def searched(sim: PdSim) -> bool:
    return any(r["path"] == "/incidents" for r in await sim.requests("GET"))


async def linked_incident(nc: Client, issue: IssueRef) -> IncidentRef | None:
    query = LinkQuery(instance=issue.instance, issue_id=issue.issue_id)
    reply: Msg = await nc.request(LINK_LOOKUP, encode(query), timeout=2.0)

    link = msgspec.json.decode(reply.data, type=LinkReply).link
    return link.incident if link else None


async def test_same_command_twice_and_redelivered_makes_one_incident(
    nc: Client,
    pd_sim: PdSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
) -> None:
    issue = new_issue()
    first, again = create(issue), create(issue)
    async with start_writer():
        await send(nc, first)
        created = await outcomes.wait_for(first.command_id)
        await send(nc, first, msg_id="redelivered")  # after the dedup window
        await send(nc, again)
        repeated = await outcomes.wait_for(again.command_id)
        await wait_until(lambda: linked_incident(nc, issue), timeout=5, what="the link")

    assert isinstance(created, IssueLinked)
    assert created.created
    assert created.issue == issue
    assert isinstance(repeated, IssueLinked)
    assert not repeated.created
    assert repeated.incident == created.incident
    [incident] = await incidents_with_key(pd_sim, issue.key)
    assert incident["id"] == created.incident.incident_id
    assert incident["title"] == f"{issue.key}: checkout is down"
    assert incident["urgency"] == "high"
    assert await linked_incident(nc, issue) == created.incident
    [post] = [r for r in await pd_sim.requests("POST") if r["path"] == "/incidents"]
    assert post["from"] == BOT_EMAIL


async def test_incident_with_the_issue_key_is_found_not_duplicated(
    nc: Client,
    pd_sim: PdSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
) -> None:
    issue = new_issue()
    response = await pd_sim.http.post(
        f"{pd_sim.url}/_sim/incidents",
        json={"title": "made before the link", "service_id": SERVICE, "incident_key": issue.key},
    )
    existing = response.json()["incident"]["id"]
    command = create(issue)
    async with start_writer():
        await send(nc, command)
        outcome = await outcomes.wait_for(command.command_id)

    assert isinstance(outcome, IssueLinked)
    assert not outcome.created
    assert outcome.incident.incident_id == existing
    assert [r for r in await pd_sim.requests("POST") if r["path"] == "/incidents"] == []


async def test_create_whose_answer_timed_out_is_found_on_the_retry(
    nc: Client,
    pd_sim: PdSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
) -> None:
    issue = new_issue()
    command = create(issue)
    # Two calls a second: the search answers, then (before the create is sent) PagerDuty is
    # told to store the incident and answer after our timeout.
    pacing = {"requests_per_second": 2.0, "burst": 1}
    async with start_writer(retry={"http_timeout": 0.5}, rate_limit=pacing):
        await send(nc, command)
        await wait_until(lambda: searched(pd_sim), timeout=5, what="the search")
        await pd_sim.faults(response_delay_ms=1500, paths=["/incidents"])
        await wait_until(
            lambda: incidents_with_key(pd_sim, issue.key), timeout=10, what="the stored incident"
        )
        await pd_sim.clear_faults()
        outcome = await outcomes.wait_for(command.command_id)

    assert isinstance(outcome, IssueLinked)
    assert not outcome.created  # found by its key on the retry
    assert len(await incidents_with_key(pd_sim, issue.key)) == 1


class RacingPagerDuty:
    """Someone else creates the incident between our search and our create."""

    account = ACCOUNT
    from_email = BOT_EMAIL

    def __init__(self) -> None:
        self.searches = 0

    async def incidents_by_key(self, incident_key: str) -> tuple[IncidentSnapshot, ...]:
        self.searches += 1
        if self.searches == 1:
            return ()
        return (IncidentSnapshot(id="QRACE", status="triggered", incident_key=incident_key),)

    async def services(self) -> tuple[Service, ...]:
        return (Service(id="PSVC001", name="Checkout API"),)

    async def create_incident(self, **_: Any) -> IncidentSnapshot:
        raise PagerDutyError(
            "Invalid Input Provided (code 2001): Open incident with matching dedup key "
            "already exists on this service",
            status_code=400,
            code=2001,
        )


def racing_writer(pd: RacingPagerDuty) -> PdWriter:
    return PdWriter(
        clients={ACCOUNT: pd},  # type: ignore[dict-item]
        mapping=AgreeingMapping(),
        last_writes=MemoryLastWrites(),
    )


async def test_refused_duplicate_key_means_exists_and_is_found() -> None:
    issue = new_issue()
    writer = racing_writer(RacingPagerDuty())
    outcome = await writer.handle(create(issue))
    assert isinstance(outcome, IssueLinked)
    assert not outcome.created
    assert outcome.incident == IncidentRef(account=ACCOUNT, incident_id="QRACE")


def test_create_incident_routes_by_issue() -> None:
    issue = IssueRef(instance="dc1", issue_id="10100", key="OPS-4")
    assert command_subject(create(issue)) == subjects.command_pd(ACCOUNT, "jira-dc1-10100")


@pytest.mark.parametrize(
    ("wanted", "found"),
    [
        ("PSVC001", "PSVC001"),  # by id
        ("Checkout API", "PSVC001"),  # a rule in the file names it
        ("checkout api", "PSVC001"),  # case-insensitive
        ("Payments", None),
    ],
)
def test_find_service_by_id_or_name(wanted: str, found: str | None) -> None:
    items = (Service(id="PSVC001", name="Checkout API"), Service(id="PSVC002", name="Search"))
    hit = find_service(items, wanted)
    assert (hit.id if hit else None) == found


async def test_unknown_service_fails_naming_the_services() -> None:
    issue = new_issue()
    racing = RacingPagerDuty()
    writer = racing_writer(racing)
    command = msgspec.structs.replace(create(issue), service_id="Payments")
    outcome = await writer.handle(command)
    assert isinstance(outcome, CommandFailed)
    assert outcome.permanent
    message = outcome.reason
    assert "no service 'Payments'" in message
    assert "Checkout API (id PSVC001)" in message
    assert racing.searches == 0  # refused before anything was looked up or created
