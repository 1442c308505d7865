"""A person transitions a linked issue and comments in the same request: Jira Server sends ONE
webhook (the transition's event, with the changelog and the comment); pdjira reacts to the
status AND mirrors the comment as a PagerDuty note, once each."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pdjira_devstack.stack import Stack
from pdjira_devstack.waiting import SimulatorState, wait_until

from .conftest import SHARED_STACK
from .helpers import Quiet, comments_of, jira_writes, linked_issue, notes_of, wait_count

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]


async def issue_deliveries(http: httpx.AsyncClient, stack: Stack, key: str) -> list[Any]:
    response = await http.get(f"{stack.jira_url}/_sim/deliveries")
    response.raise_for_status()
    return [d for d in response.json()["deliveries"] if d["issue_key"] == key]


async def test_transition_with_a_comment_is_one_webhook_a_reaction_and_one_note(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident, issue = await linked_issue(stack, http, sims, quiet, "Transition with comment")
    key = issue["key"]
    await quiet()
    before = len(await issue_deliveries(http, stack, key))
    writes_before = await jira_writes(sims, issue)

    api = f"{stack.jira_url}/rest/api/2/issue/{key}/transitions"
    person = ("jdoe", "jdoe")
    offered = (await http.get(api, auth=person)).json()["transitions"]
    done = next(t["id"] for t in offered if t["to"]["name"] == "Done")
    body = {
        "transition": {"id": done},
        "update": {"comment": [{"add": {"body": "Rolled back the deploy"}}]},
    }
    response = await http.post(api, json=body, auth=person)
    assert response.status_code == 204, response.text

    async def resolved() -> bool:
        return (await sims.incident(incident["id"]))["status"] == "resolved"

    await wait_until(resolved, timeout=30, what=f"incident {incident['id']} resolved")
    await wait_count(lambda: notes_of(http, stack, incident["id"]), 1, "the comment as a note")
    await quiet()

    sent = (await issue_deliveries(http, stack, key))[before:]
    assert [d["event_type"] for d in sent] == ["jira:issue_updated"]  # one webhook
    notes = await notes_of(http, stack, incident["id"])
    assert len(notes) == 1
    assert "Rolled back the deploy" in notes[0]["content"]
    assert (await sims.incident(incident["id"]))["status"] == "resolved"
    # Nothing came back to Jira: the comment is not mirrored back, the issue stays Done; the
    # only new write on the issue is the person's own request.
    assert [c["body"] for c in await comments_of(sims, key)] == ["Rolled back the deploy"]
    mine = f"POST /rest/api/2/issue/{key}/transitions"
    assert await jira_writes(sims, issue) == sorted([*writes_before, mine])
