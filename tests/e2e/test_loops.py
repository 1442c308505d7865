"""Loops and echoes, end to end: real NATS, every service its own process, simulators sending
their webhooks back to ingest. Our own writes must not come back as new changes; a person's
change right after ours must still sync; and no write happens that the scenario does not need."""

from __future__ import annotations

import httpx
import pytest
from pdjira_devstack.stack import ACCOUNT, Stack
from pdjira_devstack.waiting import SimulatorState

from .conftest import SHARED_STACK
from .helpers import (
    Quiet,
    add_comment,
    add_note,
    comments_of,
    jira_writes,
    linked_issue,
    notes_of,
    pd_writes,
    transition_issue,
    wait_count,
    wait_incident_status,
    wait_issue_status,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]


async def test_note_synced_to_a_comment_does_not_come_back_as_a_note(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident, issue = await linked_issue(stack, http, sims, quiet, "Loop check: note")
    await add_note(http, stack, incident["id"], "Restarted the api pods")

    await wait_count(lambda: comments_of(sims, issue["key"]), 1, "the note as a comment")
    await quiet()
    comments = await comments_of(sims, issue["key"])
    assert len(comments) == 1
    assert "Restarted the api pods" in comments[0]["body"]
    notes = await notes_of(http, stack, incident["id"])
    assert [n["content"] for n in notes] == ["Restarted the api pods"]


async def test_comment_synced_to_a_note_does_not_come_back_as_a_comment(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident, issue = await linked_issue(stack, http, sims, quiet, "Loop check: comment")
    await add_comment(http, stack, issue["key"], "Customer confirms the outage")

    await wait_count(lambda: notes_of(http, stack, incident["id"]), 1, "the comment as a note")
    await quiet()
    notes = await notes_of(http, stack, incident["id"])
    assert len(notes) == 1
    assert "Customer confirms the outage" in notes[0]["content"]
    comments = await comments_of(sims, issue["key"])
    assert [c["body"] for c in comments] == ["Customer confirms the outage"]


async def test_status_change_does_not_bounce(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident, issue = await linked_issue(stack, http, sims, quiet, "Loop check: status")
    response = await http.post(
        f"{stack.pd_url}/_sim/incidents/{incident['id']}/status", json={"status": "acknowledged"}
    )
    response.raise_for_status()
    await wait_issue_status(sims, issue["key"], "In Progress")
    await quiet()
    # Our Jira transition's webhook came back: nothing may be written to PagerDuty for it.
    assert await pd_writes(sims, incident["id"]) == []
    assert (await sims.incident(incident["id"]))["status"] == "acknowledged"
    assert await jira_writes(sims, issue) == [f"POST /rest/api/2/issue/{issue['key']}/transitions"]


async def test_a_person_changing_the_issue_right_after_our_write_is_still_synced(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident, issue = await linked_issue(stack, http, sims, quiet, "Loop check: person after us")
    await add_note(http, stack, incident["id"], "Rolling back")
    await wait_count(lambda: comments_of(sims, issue["key"]), 1, "the note as a comment")
    # A person writes the very same text right after our comment: not an echo, it syncs.
    await add_comment(http, stack, issue["key"], "Rolling back")
    await wait_count(lambda: notes_of(http, stack, incident["id"]), 2, "the person's comment")

    response = await http.post(
        f"{stack.pd_url}/_sim/incidents/{incident['id']}/status", json={"status": "acknowledged"}
    )
    response.raise_for_status()
    await wait_issue_status(sims, issue["key"], "In Progress")
    # ... and moves the issue on at once, right after our transition.
    await transition_issue(http, stack, issue["key"], "Done")
    await wait_incident_status(sims, incident["id"], "resolved")
    await quiet()
    assert len(await notes_of(http, stack, incident["id"])) == 2
    assert len(await comments_of(sims, issue["key"])) == 2
    assert (await sims.issue(issue["key"]))["fields"]["status"]["name"] == "Done"


async def test_vendor_writes_are_exactly_the_needed_ones(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident, issue = await linked_issue(stack, http, sims, quiet, "Loop check: write count")
    key, incident_id = issue["key"], incident["id"]

    await add_note(http, stack, incident_id, "Paging the database team")  # -> 1 Jira comment
    await wait_count(lambda: comments_of(sims, key), 1, "the note as a comment")
    await add_comment(http, stack, key, "DBA joined the bridge")  # -> 1 PagerDuty note
    await wait_count(lambda: notes_of(http, stack, incident_id), 2, "the comment as a note")
    response = await http.post(  # -> 1 Jira transition (To Do -> In Progress)
        f"{stack.pd_url}/_sim/incidents/{incident_id}/status", json={"status": "acknowledged"}
    )
    response.raise_for_status()
    await wait_issue_status(sims, key, "In Progress")
    await transition_issue(http, stack, key, "Done")  # -> 1 PagerDuty status write (resolve)
    await wait_incident_status(sims, incident_id, "resolved")
    await quiet()  # every echo back and (not) acted on

    assert await jira_writes(sims, issue) == [
        f"POST /rest/api/2/issue/{key}/comment",
        f"POST /rest/api/2/issue/{key}/transitions",
    ]
    assert await pd_writes(sims, incident_id) == [
        f"POST /incidents/{incident_id}/notes",
        f"PUT /incidents/{incident_id}",
    ]
    assert len(await sims.issues_for_incident(ACCOUNT, incident_id)) == 1  # the one create
