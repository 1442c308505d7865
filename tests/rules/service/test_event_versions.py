"""Events of an older version still in stream EVENTS after an upgrade (or published by an
ingest replica not upgraded yet) are read, upgraded and decided like current ones: none is
lost, none is dead-lettered."""

from __future__ import annotations

from nats.aio.client import Client
from pdjira_common import streams
from pdjira_common.contracts import (
    CreateIssue,
    IncidentEventV1,
    IssueEventV1,
    UpdateIncident,
    decode_audit,
    decode_command,
)

from ..builders import incident_data, issue_fields, status_change
from .conftest import FakeMapping, RunRules, drained, incident_link, publish_event, stream_messages

V1_TRIGGER = IncidentEventV1(
    event_id="v1-trigger",
    correlation_id="v1-trigger",
    account="acme",
    incident_id="PGR0VU2",
    event_type="incident.triggered",
    occurred_at="2020-10-02T18:45:22.169Z",
    title="A little bump in the road",
    html_url="https://acme.pagerduty.com/incidents/PGR0VU2",
    status="triggered",
    number=2,
    urgency="high",
    service_id="PSVC9",
    service_name="API Service",
    priority="P1",
    data=incident_data(),
)
V1_DONE = IssueEventV1(
    event_id="jira:dc1:v1",
    correlation_id="jira:dc1:v1",
    instance="dc1",
    issue_id="10100",
    key="OPS-4",
    webhook_event="jira:issue_updated",
    issue_event_type="issue_generic",
    timestamp_ms=1565751753680,
    project_key="OPS",
    issue_type="Task",
    status="Done",
    status_category="done",
    summary="Database down",
    user_key="JIRAUSER10100",
    changes=(status_change("Done"),),
    fields=issue_fields(status={"id": "9", "name": "Done"}),
)


async def test_v1_events_are_upgraded_and_decided(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    await mapping.start()
    await run_rules()

    await publish_event(nc, V1_TRIGGER, "pd:acme:v1-trigger")
    await drained(nc)
    mapping.links.append(incident_link())
    await publish_event(nc, V1_DONE, "jira:dc1:v1")
    await drained(nc)

    assert await stream_messages(nc, streams.DLQ) == []
    create, resolve = (
        decode_command(m.data or b"") for m in await stream_messages(nc, streams.COMMANDS)
    )
    assert isinstance(create, CreateIssue)
    assert (create.summary, create.project, create.issue_type) == (
        "A little bump in the road",
        "OPS",
        "Task",
    )
    assert "Service: API Service (PSVC9)" in create.description
    assert isinstance(resolve, UpdateIncident)
    assert (resolve.status, resolve.actor_user_key) == ("resolved", "JIRAUSER10100")
    records = [decode_audit(m.data or b"") for m in await stream_messages(nc, streams.AUDIT)]
    assert [r.event_id for r in records] == ["v1-trigger", "jira:dc1:v1"]
