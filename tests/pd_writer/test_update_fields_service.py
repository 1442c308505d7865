"""UpdateIncidentFields and the catalog reads through the running pd-writer: a real
nats-server, the PagerDuty simulator, mapping's request/reply stood in (marks, users)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from nats.aio.client import Client
from pdjira_common import subjects
from pdjira_common.contracts import (
    FieldsUpdated,
    IncidentRef,
    IssueRef,
    UpdateIncidentFields,
    encode,
)
from pdjira_common.requests import PdCatalogRead, PdNamesReply, pd_read_subject
from pdjira_pd_writer.main import PdWriterService
from support.mapping_standin import MappingStandIn
from support.writers import OutcomeWatcher

from .conftest import ACCOUNT, BOT_EMAIL, PdSim


async def test_fields_command_is_applied_and_marked(
    nc: Client,
    pd_sim: PdSim,
    pd_writer: PdWriterService,
    outcomes: OutcomeWatcher,
    standin: MappingStandIn,
) -> None:
    incident_id = await pd_sim.trigger()
    command = UpdateIncidentFields(
        command_id=f"fields-{uuid.uuid4().hex[:8]}",
        correlation_id=f"jira:dc1:{uuid.uuid4().hex[:8]}",
        incident=IncidentRef(account=ACCOUNT, incident_id=incident_id),
        priority="P2",
        add_responders=("PUSER01",),
        cause=IssueRef(instance="dc1", issue_id="10100", key="OPS-1"),
    )
    # Published as rules does: on the incident's PagerDuty command subject.
    await nc.jetstream().publish(
        subjects.command_pd(ACCOUNT, incident_id),
        encode(command),
        headers={"Nats-Msg-Id": command.command_id},
    )

    outcome = await outcomes.wait_for(command.command_id)
    assert outcome == FieldsUpdated(
        command_id=command.command_id,
        correlation_id=command.correlation_id,
        target=f"pd:{ACCOUNT}:{incident_id}",
        fields=("priority", "responders"),
    )
    incident = await pd_sim.incident(incident_id)
    assert incident["priority"]["summary"] == "P2"
    assert [r["user"]["id"] for r in incident["incidents_responders"]] == ["PUSER01"]
    assert [(m.entity, m.field, m.value) for m in standin.marks] == [
        (f"pd:{ACCOUNT}:{incident_id}", "priority", "P2")
    ]
    [put] = [r for r in await pd_sim.requests("PUT") if r["path"] == f"/incidents/{incident_id}"]
    assert put["from"] == BOT_EMAIL


async def test_catalog_reads_for_others(
    nc: Client, pd_sim: PdSim, pd_writer: PdWriterService
) -> None:
    async def ask(what: str, request: Any) -> PdNamesReply:
        answer = await nc.request(pd_read_subject(ACCOUNT, what), encode(request), timeout=5)
        return msgspec.json.decode(answer.data, type=PdNamesReply)

    services = await ask("services", PdCatalogRead(account=ACCOUNT, what="services"))
    assert [(s.id, s.name) for s in services.items] == [("PSVC001", "Checkout API")]
    priorities = await ask("priorities", PdCatalogRead(account=ACCOUNT, what="priorities"))
    assert [p.name for p in priorities.items] == ["P1", "P2", "P3", "P4", "P5"]
    assert priorities.items[0].id == "PPRI001"

    wrong = await ask("services", PdCatalogRead(account=ACCOUNT, what="priorities"))
    assert wrong.error is not None
    assert "'priorities' was sent on 'services'" in wrong.error
    unknown = await ask("priorities", PdCatalogRead(account="nope", what="priorities"))
    assert unknown.error is not None
    assert "unknown PagerDuty account 'nope'" in unknown.error
    garbage = await nc.request(pd_read_subject(ACCOUNT, "services"), b"{}", timeout=5)
    assert "not a PdCatalogRead" in (
        msgspec.json.decode(garbage.data, type=PdNamesReply).error or ""
    )
    await pd_sim.faults(error_rate=1.0)
    failing = await ask("services", PdCatalogRead(account=ACCOUNT, what="services"))
    assert failing.error is not None
    assert "503" in failing.error
