"""Workflow paths, echo marks, comments, reads and the DLQ round trip: the jira-writer on a
real nats-server against the Jira simulator (mapping running, its request/reply stood in)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from nats.aio.client import Client
from pdjira_cli.dlq_cmd import list_letters, replay_letters
from pdjira_common import streams
from pdjira_common.contracts import (
    AddComment,
    CommandFailed,
    CommentAdded,
    IncidentRef,
    IssueTransitioned,
    WriteSkipped,
    encode,
)
from pdjira_common.requests import (
    JiraCreateMetaRead,
    JiraCreateMetaReply,
    JiraNamesReply,
    JiraSearchRead,
    JiraSearchReply,
    JiraStatusesRead,
    JiraUserSearch,
    JiraUsersReply,
    body_digest,
    jira_read_subject,
)
from pdjira_devstack.waiting import wait_until
from pdjira_jira_writer.main import JiraWriterService
from support.mapping_standin import MappingStandIn
from support.writers import OutcomeWatcher

from .conftest import INSTANCE, JiraSim, send
from .test_jira_writer_service import linked_issue, new_incident, transition

CHAIN_WORKFLOW: dict[str, Any] = {
    "project": "OPS",
    "statuses": ["To Do", "In Progress", "Review", "Done"],
    "initial_status": "To Do",
    "transitions": [
        {"id": "11", "name": "Start", "from": ["To Do"], "to": "In Progress"},
        {"id": "21", "name": "Submit", "from": ["In Progress"], "to": "Review"},
        {
            "id": "31",
            "name": "Approve",
            "from": ["Review"],
            "to": "Done",
            "fields": {"resolution": {"required": True}},
        },
        {"id": "41", "name": "Back", "from": ["Review"], "to": "In Progress"},
    ],
}


def status_of(issue: dict[str, Any]) -> str:
    return str(issue["fields"]["status"]["name"])


async def test_resolve_walks_the_workflow_path_and_marks_every_status(
    nc: Client,
    jira_sim: JiraSim,
    jira_writer: JiraWriterService,
    outcomes: OutcomeWatcher,
    standin: MappingStandIn,
) -> None:
    await jira_sim.workflow(CHAIN_WORKFLOW)
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)
    command = transition(incident, "Done")  # no direct transition; Done requires a resolution
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueTransitioned), outcome
    assert outcome.from_status == "To Do"
    assert outcome.path == ("In Progress", "Review", "Done")
    issue = await jira_sim.issue(link.issue.key)
    assert status_of(issue) == "Done"
    assert issue["fields"]["resolution"]["name"] == "Done"
    entity = f"jira:{INSTANCE}:{link.issue.issue_id}"
    assert [(m.entity, m.field, m.value) for m in standin.marks] == [
        (entity, "status", "In Progress"),
        (entity, "status", "Review"),
        (entity, "status", "Done"),
    ]


async def test_no_path_reports_the_reachable_statuses_and_writes_nothing(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    await jira_sim.workflow(
        {
            "project": "OPS",
            "statuses": ["To Do", "In Progress", "Review", "Done"],
            "transitions": [
                {"id": "11", "from": ["To Do"], "to": "Done"},
                {"id": "21", "from": ["Done"], "to": "Review"},
            ],
        }
    )
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)
    await jira_sim.clear_requests()
    command = transition(incident, "Review")  # only through Done: never
    await send(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, CommandFailed)
    assert f"issue {link.issue.key} is in status 'To Do'" in outcome.reason
    assert "no path of transitions leads to 'Review'" in outcome.reason
    assert "reachable: 'Done'" in outcome.reason
    assert await jira_sim.writes() == []


async def test_poison_dead_letters_after_the_bound_then_replays_after_the_fix(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)
    await jira_sim.faults(error_rate=1.0)  # Jira answers 503 to everything, for too long
    command = transition(incident, "In Progress")
    await send(nc, command)
    js = nc.jetstream()

    async def dead() -> bool:
        return (await js.stream_info(streams.DLQ)).state.messages == 1

    await wait_until(dead, timeout=30, what="the dead letter")
    [(seq, letter)] = await list_letters(js)
    assert f"Jira instance '{INSTANCE}' answered 503" in letter.reason  # the last response
    assert letter.attempts == 6
    assert letter.correlation_id == command.correlation_id
    assert msgspec.json.decode(letter.data) == msgspec.json.decode(encode(command))
    assert outcomes.of(command.command_id) == []

    await jira_sim.clear_faults()
    assert await replay_letters(js, [seq]) == [f"{seq}: replayed to {letter.subject}"]
    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, IssueTransitioned)
    assert status_of(await jira_sim.issue(link.issue.key)) == "In Progress"
    assert await list_letters(js) == []


async def test_comment_is_posted_once_with_its_author_and_marked(
    nc: Client,
    jira_sim: JiraSim,
    jira_writer: JiraWriterService,
    outcomes: OutcomeWatcher,
    standin: MappingStandIn,
) -> None:
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)
    command = comment(incident, "N1", "  Disk cleaned up.\n")
    await send_comment(nc, command)

    outcome = await outcomes.wait_for(command.command_id)
    assert isinstance(outcome, CommentAdded)
    assert outcome.issue == link.issue
    assert outcome.note_id == "N1"
    [posted] = (await jira_sim.issue(link.issue.key))["fields"]["comment"]["comments"]
    assert posted["id"] == outcome.comment_id
    assert posted["body"] == "[PUSER01 in PagerDuty]\nDisk cleaned up."
    [mark] = [m for m in standin.marks if m.field == "comment"]
    assert mark.entity == f"jira:{INSTANCE}:{link.issue.issue_id}"
    assert mark.value == body_digest(posted["body"])

    # mapping now knows the pair: the same note again is skipped without a write
    standin.pairs["N1"] = outcome.comment_id
    again = comment(incident, "N1", "Disk cleaned up.")
    await send_comment(nc, again)
    skipped = await outcomes.wait_for(again.command_id)
    assert isinstance(skipped, WriteSkipped)
    assert "note N1 already has comment" in skipped.reason


def comment(incident: IncidentRef, note_id: str, body: str) -> AddComment:
    return AddComment(
        command_id=f"comment-{uuid.uuid4().hex[:8]}",
        correlation_id=f"evt-{uuid.uuid4().hex[:8]}",
        incident=incident,
        instance=INSTANCE,
        note_id=note_id,
        body=body,
        author_pd_user_id="PUSER01",
    )


async def send_comment(nc: Client, command: AddComment) -> None:
    await nc.jetstream().publish(
        f"commands.jira.{INSTANCE}.{command.incident.incident_id}",
        encode(command),
        headers={"Nats-Msg-Id": command.command_id},
    )


async def test_reads_for_others(
    nc: Client, jira_sim: JiraSim, jira_writer: JiraWriterService, outcomes: OutcomeWatcher
) -> None:
    incident = new_incident()
    link = await linked_issue(nc, outcomes, incident)

    async def ask(what: str, request: msgspec.Struct, reply: type[Any]) -> Any:
        answer = await nc.request(jira_read_subject(INSTANCE, what), encode(request), timeout=5)
        return msgspec.json.decode(answer.data, type=reply)

    users = await ask(
        "users_by_email", JiraUserSearch(instance=INSTANCE, query="jdoe"), JiraUsersReply
    )
    assert [u.key for u in users.users] == ["JIRAUSER10100"]
    found = await ask(
        "search",
        JiraSearchRead(instance=INSTANCE, jql=f"key = {link.issue.key} AND (project = OPS)"),
        JiraSearchReply,
    )
    assert [i.key for i in found.issues] == [link.issue.key]
    bad = await ask("search", JiraSearchRead(instance=INSTANCE, jql="nonsense ~~"), JiraSearchReply)
    assert bad.error is not None
    assert "refused search (400)" in bad.error
    statuses = await ask("statuses", JiraStatusesRead(instance=INSTANCE), JiraNamesReply)
    assert ("Done", "done") in {(s.name, s.category) for s in statuses.items}
    meta = await ask(
        "createmeta",
        JiraCreateMetaRead(instance=INSTANCE, project="OPS", issue_type="10002"),
        JiraCreateMetaReply,
    )
    assert any(f.id == "summary" and f.required for f in meta.fields)
    unknown = await ask("statuses", JiraStatusesRead(instance="nope"), JiraNamesReply)
    assert unknown.error is not None
    assert "unknown Jira instance 'nope'" in unknown.error
