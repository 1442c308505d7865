"""UpdateIssueFields and the catalog reads through the running jira-writer: a real nats-server,
the Jira simulator, the mapping service (links) and mapping's request/reply stood in (marks)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from nats.aio.client import Client
from pdjira_common import streams, subjects
from pdjira_common.contracts import FieldsUpdated, UpdateIssueFields, encode
from pdjira_common.requests import JiraCatalogRead, JiraNamesReply, jira_read_subject
from pdjira_common.subjects import LINK_LOOKUP
from pdjira_devstack.waiting import wait_until
from pdjira_jira_writer.main import JiraWriterService
from support.mapping_standin import MappingStandIn
from support.writers import OutcomeWatcher, asked, at_least

from .conftest import INSTANCE, JiraSim, send
from .test_jira_writer_service import create, label_of, new_incident


async def test_fields_update_waits_for_the_create_then_is_applied_and_marked(
    nc: Client,
    jira_sim: JiraSim,
    jira_writer: JiraWriterService,
    outcomes: OutcomeWatcher,
    standin: MappingStandIn,
) -> None:
    incident = new_incident()
    command = UpdateIssueFields(
        command_id=f"fields-{uuid.uuid4().hex[:8]}",
        correlation_id=f"evt-{uuid.uuid4().hex[:8]}",
        incident=incident,
        instance=INSTANCE,
        priority="Highest",
        labels=("sev1",),
        append_description="Priority raised in PagerDuty",
    )
    async with asked(nc, LINK_LOOKUP) as lookups:
        # Published as rules does: on the incident's Jira command subject, before the issue
        # exists.
        await nc.jetstream().publish(
            subjects.command_jira(INSTANCE, incident.incident_id),
            encode(command),
            headers={"Nats-Msg-Id": command.command_id},
        )
        # Asked for the link a second time: the first look ended in a wait, not an outcome.
        await wait_until(at_least(lookups, 2), timeout=10, what="a second link lookup")
    assert outcomes.of(command.command_id) == []  # waiting, not failed
    await send(nc, create(incident))

    outcome = await outcomes.wait_for(command.command_id, within=20)
    assert isinstance(outcome, FieldsUpdated), outcome
    assert outcome.fields == ("priority", "labels", "description")
    [issue] = await jira_sim.issues(label_of(incident))
    assert outcome.target == f"jira:{INSTANCE}:{issue['id']}"
    assert issue["fields"]["priority"]["name"] == "Highest"
    assert issue["fields"]["labels"] == ["sev1", label_of(incident)]
    assert issue["fields"]["description"].endswith("\n\nPriority raised in PagerDuty")
    marks = [(m.entity, m.field, m.value) for m in standin.marks if m.field == "priority"]
    assert marks == [(f"jira:{INSTANCE}:{issue['id']}", "priority", "Highest")]
    assert (await nc.jetstream().stream_info(streams.DLQ)).state.messages == 0


async def test_catalog_reads_for_others(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService
) -> None:
    async def ask(what: str, request: Any) -> JiraNamesReply:
        answer = await nc.request(jira_read_subject(INSTANCE, what), encode(request), timeout=5)
        return msgspec.json.decode(answer.data, type=JiraNamesReply)

    projects = await ask("projects", JiraCatalogRead(instance=INSTANCE, what="projects"))
    # The simulator's projects: OPS and the Jira Service Management desk HELP.
    assert [(p.id, p.key) for p in projects.items] == [("10000", "OPS"), ("10001", "HELP")]
    assert projects.items[0].name == "Operations"
    types = await ask("issue_types", JiraCatalogRead(instance=INSTANCE, what="issue_types"))
    assert ("10004", "Bug") in {(t.id, t.name) for t in types.items}
    resolutions = await ask("resolutions", JiraCatalogRead(instance=INSTANCE, what="resolutions"))
    assert {r.name for r in resolutions.items} == {"Done", "Won't Do"}
    fields = await ask("fields", JiraCatalogRead(instance=INSTANCE, what="fields"))
    names = {f.id: f.name for f in fields.items}
    assert names["customfield_10100"] == "Root Cause"
    assert names["summary"] == "Summary"
    assert all(f.key is None for f in fields.items)

    wrong = await ask("projects", JiraCatalogRead(instance=INSTANCE, what="fields"))
    assert wrong.error is not None
    assert "'fields' was sent on the 'projects' subject" in wrong.error
    unknown = await ask("fields", JiraCatalogRead(instance="nope", what="fields"))
    assert unknown.error is not None
    assert "unknown Jira instance 'nope'" in unknown.error
    garbage = await nc.request(jira_read_subject(INSTANCE, "projects"), b"{}", timeout=5)
    assert "not a JiraCatalogRead" in (
        msgspec.json.decode(garbage.data, type=JiraNamesReply).error or ""
    )
