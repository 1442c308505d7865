"""Echoes and notes/comments through the rules service on a real nats-server."""

from __future__ import annotations

from nats.aio.client import Client
from pdjira_common import streams
from pdjira_common.bus import MSG_ID_HEADER
from pdjira_common.contracts import AddComment, AddNote, decode_audit, decode_command
from pdjira_common.facts import JiraUser, PdAgent
from pdjira_common.requests import body_digest
from pdjira_common.subjects import unpartitioned

from ..builders import comment_event, issue_event, note_event, status_change
from .conftest import (
    FakeMapping,
    RunRules,
    drained,
    incident_link,
    publish_event,
    stream_messages,
)


async def test_echo_of_our_status_write_sends_nothing_and_says_why(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    mapping.links.append(incident_link())
    mapping.marks.append(("jira", "jira:dc1:10100", "status", "Done"))
    await mapping.start()
    await run_rules()

    await publish_event(nc, issue_event(status_change("Done")), "jira:dc1:abc")
    await drained(nc)

    assert await stream_messages(nc, streams.COMMANDS) == []
    [audit] = await stream_messages(nc, streams.AUDIT)
    record = decode_audit(audit.data or b"")
    assert record.summary == "echo of our own write: no command"
    assert any("pdjira moved OPS-4 to 'Done'" in v.reason for v in record.verdicts)
    [asked] = mapping.consumed
    assert asked.event_id == "jira:dc1:abc"  # a redelivery matches the same mark again

    # A person moving the issue to Done again afterwards is not an echo: it syncs.
    later = issue_event(status_change("Done"), event_id="jira:dc1:def", correlation_id="x2")
    await publish_event(nc, later, "jira:dc1:def")
    await drained(nc)
    [command] = await stream_messages(nc, streams.COMMANDS)
    assert decode_command(command.data or b"").command_id.startswith("jira:dc1:def:")


async def test_note_becomes_one_add_comment_and_its_echo_does_not_come_back(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    mapping.links.append(incident_link())
    await mapping.start()
    await run_rules()
    note = note_event(
        "Restarted the pods",
        event_id="n1",
        correlation_id="n1",
        agent=PdAgent(id="PUSER01", type="user_reference"),
    )
    await publish_event(nc, note, "pd:acme:n1")
    await publish_event(nc, note, "pd:acme:n1:again")  # the same note twice: one command
    await drained(nc)

    [stored] = await stream_messages(nc, streams.COMMANDS)
    assert unpartitioned(stored.subject) == "commands.jira.dc1.PGR0VU2"
    assert stored.headers is not None
    assert stored.headers[MSG_ID_HEADER] == "note:acme:PNOTE1"
    command = decode_command(stored.data or b"")
    assert isinstance(command, AddComment)
    assert (command.body, command.author_pd_user_id) == ("Restarted the pods", "PUSER01")

    # jira-writer marked the comment it wrote; Jira's webhook for it is an echo.
    mapping.marks.append(("jira", "jira:dc1:10100", "comment", body_digest(command.body)))
    mapping.pairs.append(("PNOTE1", "10090"))
    echo = comment_event(
        body="Restarted the pods",
        comment_id="10090",
        event_id="jira:dc1:c1",
        correlation_id="jira:dc1:c1",
        user=JiraUser(name="pdjira", key="pdjira"),
    )
    await publish_event(nc, echo, "jira:dc1:c1")
    await drained(nc)
    assert len(await stream_messages(nc, streams.COMMANDS)) == 1


async def test_comment_becomes_add_note_unless_already_paired(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    mapping.links.append(incident_link())
    mapping.pairs.append(("PN9", "10091"))
    await mapping.start()
    await run_rules()

    def comment(comment_id: str, event_id: str):  # type: ignore[no-untyped-def]
        return comment_event(
            body="Looking into it",
            comment_id=comment_id,
            event_id=event_id,
            correlation_id=event_id,
        )

    await publish_event(nc, comment("10082", "jira:dc1:c2"), "jira:dc1:c2")
    await publish_event(nc, comment("10091", "jira:dc1:c3"), "jira:dc1:c3")
    await drained(nc)

    [stored] = await stream_messages(nc, streams.COMMANDS)
    assert unpartitioned(stored.subject) == "commands.pd.acme.PGR0VU2"
    command = decode_command(stored.data or b"")
    assert isinstance(command, AddNote)
    assert (command.command_id, command.author_jira_user_key) == (
        "comment:dc1:10082",
        "JIRAUSER10100",
    )
    records = [decode_audit(m.data or b"") for m in await stream_messages(nc, streams.AUDIT)]
    assert any("already synced (note PN9)" in v.reason for v in records[1].verdicts)
