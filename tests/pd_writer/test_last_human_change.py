"""The last human change wins in PagerDuty: a status write caused before a person's newer change
is skipped (saying so), resolved stays resolved, our own changes do not count as a person's;
and CreateIncident.then_status sets the new incident's status under the same guards. The
decision table first, then PdWriter against the PagerDuty simulator on a clock the test sets."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pdjira_common.config import parse_config
from pdjira_common.contracts import (
    CreateIncident,
    IncidentRef,
    IncidentUpdated,
    IssueLinked,
    IssueRef,
    UpdateIncident,
    WriteSkipped,
)
from pdjira_pd_writer.decisions import reopened_resolve, status_guard
from pdjira_pd_writer.models import IncidentSnapshot, IncidentStatus, LogEntry, Reference
from pdjira_pd_writer.pd_client import HttpPagerDutyClient
from pdjira_pd_writer.writer import PdWriter
from pdjira_simulators.pagerduty import PagerDutySettings, create_app
from pdjira_writer.vendor_http import HttpOptions
from support.writer_standins import AgreeingMapping, MemoryLastWrites

from .conftest import ACCOUNT, BOT_EMAIL, PD_TOKEN

START = datetime(2026, 12, 1, 9, 0, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat()


def pd_time(seconds: float) -> str:
    """As PagerDuty's REST answers say it: whole seconds, ``Z``."""
    return (START + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def incident(status: IncidentStatus, changed: float, by: str = "Pat Oncall") -> IncidentSnapshot:
    return IncidentSnapshot(
        id="PINC1",
        status=status,
        last_status_change_at=pd_time(changed),
        last_status_change_by=Reference(id="PUSER01", summary=by),
    )


# ---------------------------------------------------------------- the decision


@pytest.mark.parametrize(
    ("now", "wanted", "cause", "ours", "why"),
    [
        # a person acknowledged at 10: an older cause loses, a newer one wins
        ("acknowledged", "resolved", 5, None, "older than Pat Oncall's change to 'acknowledged'"),
        ("acknowledged", "resolved", 12, None, None),
        # ... unless that change was ours (PagerDuty's time of our last write)
        ("acknowledged", "resolved", 5, 10, None),
        # resolved stays resolved: never acknowledged again, whatever the cause time
        ("resolved", "acknowledged", 50, 10, "is resolved and stays resolved"),
        # reopened only by a cause newer than the resolve (even our own resolve)
        ("resolved", "triggered", 5, 10, "stays resolved: the reopen's cause"),
        ("resolved", "triggered", None, None, "stays resolved: the reopen's cause (no cause"),
        ("resolved", "triggered", 12, None, None),
        # no cause time (an older publisher): only "resolved stays resolved" applies
        ("acknowledged", "resolved", None, None, None),
    ],
)
def test_status_guard(
    now: IncidentStatus,
    wanted: IncidentStatus,
    cause: float | None,
    ours: float | None,
    why: str | None,
) -> None:
    reason = status_guard(
        incident(now, changed=10),
        wanted,
        caused_at=at(cause) if cause is not None else None,
        ours_at=pd_time(ours) if ours is not None else None,
    )
    if why is None:
        assert reason is None
    else:
        assert reason is not None
        assert why in reason


def test_the_reason_says_whose_change_to_what_and_when() -> None:
    reason = status_guard(
        incident("acknowledged", changed=10), "resolved", caused_at=at(5), ours_at=None
    )
    assert reason == (
        "older than Pat Oncall's change to 'acknowledged' at 2026-12-01T09:00:10Z "
        "(2026-12-01T09:00:05+00:00)"
    )


# ---------------------------------------------------------------- against the simulator


@dataclass
class Rig:
    writer: PdWriter
    admin: httpx.AsyncClient
    clock: list[datetime]
    app: Any

    def tick(self, seconds: float) -> None:
        self.clock[0] = START + timedelta(seconds=seconds)

    async def trigger(self) -> IncidentRef:
        response = await self.admin.post("/_sim/incidents", json={"title": "Checkout is down"})
        response.raise_for_status()
        return IncidentRef(account=ACCOUNT, incident_id=response.json()["incident"]["id"])

    async def person_sets(self, ref: IncidentRef, status: str) -> None:
        url = f"/_sim/incidents/{ref.incident_id}/status"
        (await self.admin.post(url, json={"status": status})).raise_for_status()

    def status_of(self, ref: IncidentRef) -> str:
        return str(self.app.state.sim.state.incident(ref.incident_id).status)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    app = create_app(PagerDutySettings(token=PD_TOKEN, seed=7))
    clock = [START]
    app.state.sim.state._clock = lambda: clock[0]  # the test's clock
    account = parse_config(
        {
            "pagerduty_accounts": [
                {"id": ACCOUNT, "api_url": "http://pd.test", "token": PD_TOKEN}
                | {"from_email": BOT_EMAIL}
            ]
        }
    ).pagerduty_accounts[0]
    transport = httpx.ASGITransport(app=app)
    client = HttpPagerDutyClient(account, HttpOptions(timeout=5.0, transport=transport))
    writer = PdWriter(
        clients={ACCOUNT: client}, mapping=AgreeingMapping(), last_writes=MemoryLastWrites()
    )
    admin = httpx.AsyncClient(transport=transport, base_url="http://pd.test")
    try:
        yield Rig(writer, admin, clock, app)
    finally:
        await client.aclose()
        await admin.aclose()


def update(ref: IncidentRef, status: IncidentStatus, caused: float) -> UpdateIncident:
    return UpdateIncident(
        command_id=f"cmd-{uuid.uuid4().hex[:8]}",
        correlation_id=f"evt-{uuid.uuid4().hex[:8]}",
        incident=ref,
        status=status,
        caused_at=at(caused),
    )


async def test_a_stale_acknowledge_after_a_person_resolved_changes_nothing(rig: Rig) -> None:
    ref = await rig.trigger()
    rig.tick(10)
    await rig.person_sets(ref, "resolved")
    rig.tick(20)

    late_ack = await rig.writer.handle(update(ref, "acknowledged", caused=5))
    late_reopen = await rig.writer.handle(update(ref, "triggered", caused=5))

    assert isinstance(late_ack, WriteSkipped)
    assert "is resolved and stays resolved" in late_ack.reason
    assert isinstance(late_reopen, WriteSkipped)
    assert "not newer than its resolve at 2026-12-01T09:00:10Z" in late_reopen.reason
    assert rig.status_of(ref) == "resolved"
    # A reopen caused after the resolve is applied.
    reopen = await rig.writer.handle(update(ref, "triggered", caused=15))
    assert isinstance(reopen, IncidentUpdated)
    assert rig.status_of(ref) == "triggered"


async def test_a_person_s_newer_acknowledge_beats_an_older_resolve(rig: Rig) -> None:
    ref = await rig.trigger()
    rig.tick(10)
    await rig.person_sets(ref, "acknowledged")
    rig.tick(20)

    older = await rig.writer.handle(update(ref, "resolved", caused=5))

    assert isinstance(older, WriteSkipped)
    assert "older than" in older.reason
    assert "change to 'acknowledged' at 2026-12-01T09:00:10Z" in older.reason
    assert rig.status_of(ref) == "acknowledged"
    newer = await rig.writer.handle(update(ref, "resolved", caused=12))
    assert isinstance(newer, IncidentUpdated)


async def test_our_own_change_is_not_a_person_s(rig: Rig) -> None:
    ref = await rig.trigger()
    rig.tick(10)
    assert isinstance(
        await rig.writer.handle(update(ref, "acknowledged", caused=8)), IncidentUpdated
    )
    rig.tick(20)
    # Caused after our acknowledge's cause but before PagerDuty recorded it: still applies.
    resolve = await rig.writer.handle(update(ref, "resolved", caused=9))
    assert isinstance(resolve, IncidentUpdated)
    assert rig.status_of(ref) == "resolved"


def create(*, then_status: IncidentStatus | None, caused: float) -> CreateIncident:
    key = f"OPS-{uuid.uuid4().int % 10_000}"
    return CreateIncident(
        command_id=f"cmd-{uuid.uuid4().hex[:8]}",
        correlation_id=f"jira:dc1:{uuid.uuid4().hex[:8]}",
        account=ACCOUNT,
        service_id="PSVC001",
        title=f"{key}: checkout is down",
        body="Created from Jira",
        issue=IssueRef(instance="dc1", issue_id=str(uuid.uuid4().int % 100_000), key=key),
        then_status=then_status,
        caused_at=at(caused),
    )


async def test_an_incident_created_for_a_done_issue_is_then_resolved(rig: Rig) -> None:
    rig.tick(10)
    command = create(then_status="resolved", caused=9)
    outcome = await rig.writer.handle(command)

    assert isinstance(outcome, IssueLinked)
    assert outcome.created
    assert rig.status_of(outcome.incident) == "resolved"
    # Found again (a redelivery): the same incident, already resolved.
    again = await rig.writer.handle(command)
    assert isinstance(again, IssueLinked)
    assert (again.incident, again.created) == (outcome.incident, False)


async def test_then_status_found_existing_respects_a_person_s_newer_change(rig: Rig) -> None:
    rig.tick(10)
    command = create(then_status="acknowledged", caused=9)
    first = await rig.writer.handle(command)
    assert isinstance(first, IssueLinked)
    rig.tick(20)
    await rig.person_sets(first.incident, "resolved")
    rig.tick(30)

    again = await rig.writer.handle(command)  # the create redelivered: found by its key

    assert isinstance(again, IssueLinked)
    assert again.incident == first.incident
    assert rig.status_of(first.incident) == "resolved"


# ---------------------------------------------------------------- a resolve between read and write


def entry(kind: str, agent: str, seconds: float) -> LogEntry:
    return LogEntry(
        id=f"R{kind[:3]}{seconds}",
        type=f"{kind}_log_entry",
        created_at=pd_time(seconds),
        agent={"id": agent, "type": "user_reference"},
    )


@pytest.mark.parametrize(
    ("entries", "undone"),
    [
        # read open, a person resolved at 10, our acknowledge at 11 reopened it
        (
            [
                entry("acknowledge", "BOT", 11),
                entry("trigger", "BOT", 11),
                entry("resolve", "P", 10),
            ],
            "resolve",
        ),
        # the same in one second, PagerDuty logging no separate reopen entry
        ([entry("acknowledge", "BOT", 11), entry("resolve", "P", 11)], "resolve"),
        # a plain acknowledge of a triggered incident
        ([entry("acknowledge", "BOT", 11), entry("trigger", "P", 2)], None),
        # created and acknowledged by us in one second
        ([entry("acknowledge", "BOT", 11), entry("trigger", "BOT", 11)], None),
        # someone changed it after our acknowledge: theirs stands
        (
            [entry("resolve", "P", 12), entry("acknowledge", "BOT", 11), entry("resolve", "P", 10)],
            None,
        ),
        # the newest acknowledge is not the one we just made (another second)
        ([entry("acknowledge", "BOT", 9), entry("resolve", "P", 8)], None),
        # a person's reopen came between an older resolve and our acknowledge
        (
            [entry("acknowledge", "BOT", 11), entry("trigger", "P", 10), entry("resolve", "P", 9)],
            None,
        ),
        ([], None),
    ],
)
def test_reopened_resolve(entries: list[LogEntry], undone: str | None) -> None:
    found = reopened_resolve(entries, "BOT", pd_time(11))  # our acknowledge: at 11

    if undone is None:
        assert found is None
    else:
        assert found is not None
        assert found.type == f"{undone}_log_entry"


class ResolvedWhileWeLook:
    """The PagerDuty client, but a person resolves the incident right after the writer read it
    (between our GET and our PUT)."""

    def __init__(self, client: HttpPagerDutyClient, rig: Rig) -> None:
        self._client = client
        self._rig = rig
        self.fired = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def get_incident(self, incident_id: str) -> IncidentSnapshot:
        seen = await self._client.get_incident(incident_id)
        if not self.fired:
            self.fired = True
            self._rig.tick(12)
            await self._rig.person_sets(
                IncidentRef(account=ACCOUNT, incident_id=incident_id), "resolved"
            )
            self._rig.tick(13)
        return seen


async def test_a_resolve_between_our_read_and_acknowledge_is_put_back(rig: Rig) -> None:
    ref = await rig.trigger()
    rig.tick(10)
    racing = ResolvedWhileWeLook(rig.writer.clients[ACCOUNT], rig)
    writer = PdWriter(
        clients={ACCOUNT: racing}, mapping=AgreeingMapping(), last_writes=MemoryLastWrites()
    )

    outcome = await writer.handle(update(ref, "acknowledged", caused=8))

    assert racing.fired
    assert isinstance(outcome, WriteSkipped)
    assert "resolved incident" in outcome.reason
    assert "between our read and our acknowledge" in outcome.reason
    assert rig.status_of(ref) == "resolved"
    # Once put back it stays: the same command again changes nothing.
    again = await writer.handle(update(ref, "acknowledged", caused=8))
    assert isinstance(again, WriteSkipped)
    assert rig.status_of(ref) == "resolved"


async def test_an_acknowledge_without_a_race_is_not_undone(rig: Rig) -> None:
    ref = await rig.trigger()
    rig.tick(10)
    await rig.person_sets(ref, "resolved")
    rig.tick(11)
    await rig.person_sets(ref, "triggered")  # a person reopened it
    rig.tick(20)

    outcome = await rig.writer.handle(update(ref, "acknowledged", caused=15))

    assert isinstance(outcome, IncidentUpdated)
    assert rig.status_of(ref) == "acknowledged"


class CrashAfterWrite(ResolvedWhileWeLook):
    """As above, and the writer dies right after its acknowledge (before it could look)."""

    async def update_incident_status(self, incident_id: str, status: str, **kw: Any) -> Any:
        await self._client.update_incident_status(incident_id, status, **kw)
        raise SystemExit("kill -9")


async def test_an_acknowledge_that_crashed_after_reopening_a_resolve_is_put_back_on_redelivery(
    rig: Rig,
) -> None:
    ref = await rig.trigger()
    rig.tick(10)
    dying = CrashAfterWrite(rig.writer.clients[ACCOUNT], rig)
    writer = PdWriter(
        clients={ACCOUNT: dying}, mapping=AgreeingMapping(), last_writes=MemoryLastWrites()
    )
    command = update(ref, "acknowledged", caused=8)
    with pytest.raises(SystemExit):
        await writer.handle(command)
    assert rig.status_of(ref) == "acknowledged"  # the person's resolve undone

    # The redelivery of a command started but never done: the writer recovers first.
    outcome = await rig.writer.recover(command)

    assert isinstance(outcome, WriteSkipped)
    assert "between our read and our acknowledge" in outcome.reason
    assert rig.status_of(ref) == "resolved"
    # A plain acknowledge (no resolve undone) is not touched by recovery.
    other = await rig.trigger()
    rig.tick(20)
    assert isinstance(
        await rig.writer.handle(update(other, "acknowledged", caused=19)), IncidentUpdated
    )
    assert await rig.writer.recover(update(other, "acknowledged", caused=19)) is None
    assert rig.status_of(other) == "acknowledged"
