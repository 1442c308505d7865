"""Events the reconciliation poller made (``origin="reconcile"``) are decided like webhooks and
say so in the audit trail; one describing a change pdjira wrote has no echo mark left, and
still starts no loop: links and note<->comment pairs guard the creates and the mirrors, and a
status command for a target already there is skipped by its writer."""

from __future__ import annotations

from nats.aio.client import Client
from pdjira_common import streams
from pdjira_common.contracts import UpdateIncident, decode_audit, decode_command

from ..builders import comment_event, incident_event, issue_event, note_event, status_change
from .conftest import FakeMapping, RunRules, drained, incident_link, publish_event, stream_messages
from .test_link_wait import CREATED, JIRA_BORN

RECONCILE = {"origin": "reconcile"}


async def _summaries(nc: Client) -> list[str]:
    return [decode_audit(m.data or b"").summary for m in await stream_messages(nc, streams.AUDIT)]


async def test_synthetic_events_of_our_own_writes_send_nothing(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    mapping.links.append(incident_link())
    mapping.pairs.append(("PNOTE1", "10500"))  # our mirror of one into the other
    await mapping.start()
    await run_rules(pagerduty_rules=[JIRA_BORN])

    synthetic = [
        incident_event(event_id="s1", **RECONCILE),  # the trigger of a linked incident
        note_event(event_id="s2", **RECONCILE),  # a note pdjira wrote (or mirrored)
        comment_event(event_id="s3", **RECONCILE),  # a comment pdjira wrote
        issue_event(event_id="s4", **CREATED, **RECONCILE),  # the issue pdjira created
    ]
    for event in synthetic:
        await publish_event(nc, event, event.event_id)
    await drained(nc)

    assert await stream_messages(nc, streams.COMMANDS) == []
    assert await _summaries(nc) == ["from reconciliation: no rule matched"] * 4


async def test_synthetic_status_change_is_decided_like_its_webhook(
    nc: Client, mapping: FakeMapping, run_rules: RunRules
) -> None:
    mapping.links.append(incident_link())
    await mapping.start()
    await run_rules()

    done = issue_event(status_change("Done"), event_id="jira:dc1:rec1", **RECONCILE)
    await publish_event(nc, done, "jira:dc1:rec1")
    await drained(nc)

    [stored] = await stream_messages(nc, streams.COMMANDS)
    command = decode_command(stored.data or b"")
    assert isinstance(command, UpdateIncident)
    # pd-writer skips it when the incident is already resolved, or a person changed it later.
    assert (command.status, command.caused_at) == ("resolved", "2019-08-14T03:02:33.680000+00:00")
    assert await _summaries(nc) == ["from reconciliation: 1 command(s): UpdateIncident"]
