"""The pd-writer does not undo a newer status write because an older Jira event arrived late."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
from nats.aio.client import Client
from pdjira_common.contracts import IncidentUpdated, UpdateIncident, WriteSkipped
from pdjira_pd_writer.main import PdWriterService
from support.writers import OutcomeWatcher

from .conftest import PdSim, send
from .test_pd_writer_service import update

# Causes after the incident's trigger (older ones lose to it: the last human change wins).
_SOON = datetime.now(UTC) + timedelta(minutes=5)
T1, T2, T3 = ((_SOON + timedelta(seconds=n)).isoformat() for n in (1, 2, 3))


def at(command: UpdateIncident, caused_at: str) -> UpdateIncident:
    return msgspec.structs.replace(command, caused_at=caused_at)


async def test_late_acknowledge_does_not_undo_a_resolve(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService, outcomes: OutcomeWatcher
) -> None:
    incident_id = await pd_sim.trigger()
    resolve = at(update(incident_id, "resolved"), T2)
    await send(nc, resolve)
    assert isinstance(await outcomes.wait_for(resolve.command_id), IncidentUpdated)

    late_ack = at(update(incident_id, "acknowledged"), T1)
    await send(nc, late_ack)

    outcome = await outcomes.wait_for(late_ack.command_id)
    assert isinstance(outcome, WriteSkipped)
    assert outcome.reason == (
        f"not setting incident {incident_id} acknowledged: older than the last change we wrote "
        f"({T1} < {T2}, which set 'resolved' by command {resolve.command_id})"
    )
    assert (await pd_sim.incident(incident_id))["status"] == "resolved"
    assert len(await pd_sim.requests("PUT")) == 1


async def test_a_newer_acknowledge_after_a_resolve_is_applied(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService, outcomes: OutcomeWatcher
) -> None:
    incident_id = await pd_sim.trigger()
    ack = at(update(incident_id, "acknowledged"), T2)
    await send(nc, ack)
    assert isinstance(await outcomes.wait_for(ack.command_id), IncidentUpdated)

    resolve = at(update(incident_id, "resolved"), T3)
    await send(nc, resolve)

    outcome = await outcomes.wait_for(resolve.command_id)
    assert isinstance(outcome, IncidentUpdated)
    assert outcome.to_status == "resolved"
    assert (await pd_sim.incident(incident_id))["status"] == "resolved"
