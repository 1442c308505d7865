"""User mapping end to end, with ``mapping.unlinked_users: ignore`` (PagerDuty's behaviour):
a Jira user linked only by e-mail acts as themself in PagerDuty, an unlinked person's change
does nothing (and the audit says why), and a person links themself with their own tokens."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack
from pdjira_devstack.waiting import SimulatorState

from .conftest import FAST, running_stack
from .helpers import (
    Quiet,
    add_comment,
    audit_records,
    comments_of,
    linked_issue,
    notes_of,
    pdjira,
    transition_issue,
    wait_count,
    wait_incident_status,
)

pytestmark = [pytest.mark.e2e]


def action(key: str) -> dict[str, Any]:
    return {"key": key, "isDisabled": False}


# PagerDuty-style: incidents make issues; In Progress acknowledges, Done resolves; notes and
# comments sync.
RULE: dict[str, Any] = {
    "account": ACCOUNT,
    "instance": INSTANCE,
    "resolution": "Done",
    "rule": {
        "name": "people",
        "enabled": True,
        "config": {
            "sync_comments": True,
            "services": [{"summary": "Checkout API"}],
            "projects": [{"key": "OPS"}],
            "issue_types": [{"label": "Task"}],
            "autocreate_issues": True,
            "autocreate_issues_config": [
                {
                    "condition": {"pd_events": ["incident.trigger"]},
                    "actions": [],
                    "target_project": {"key": "OPS"},
                    "target_issue_type": {"label": "Task"},
                }
            ],
            "react_on_issue_status_change": True,
            "react_on_issue_status_change_config": [
                {
                    "jira_statuses": [{"label": "In Progress"}],
                    "actions": [action("pd_acknowledge")],
                },
                {"jira_statuses": [{"label": "Done"}], "actions": [action("pd_resolve")]},
            ],
        },
    },
}

SETTINGS = dataclasses.replace(
    FAST,
    rules=[],
    pagerduty_rules=[RULE],
    extra_config={
        "mapping": {"admin_token": "${env:MAPPING_ADMIN_TOKEN}", "unlinked_users": "ignore"}
    },
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from running_stack(tmp_path_factory, "users-stack", SETTINGS)


async def person(
    http: httpx.AsyncClient,
    stack: Stack,
    *,
    login: str,
    pd_id: str,
    name: str,
    pd_email: str,
    jira_email: str,
) -> None:
    """The same person in both simulators, each with their own token (``<login>-pd-key``,
    ``<login>-jira-pat``)."""
    pd = await http.post(
        f"{stack.pd_url}/_sim/users",
        json={"id": pd_id, "name": name, "email": pd_email, "token": f"{login}-pd-key"},
    )
    pd.raise_for_status()
    jira = await http.post(
        f"{stack.jira_url}/_sim/users",
        json={
            "name": login,
            "email": jira_email,
            "display_name": name,
            "token": f"{login}-jira-pat",
        },
    )
    jira.raise_for_status()


async def agent_of(
    http: httpx.AsyncClient, stack: Stack, incident_id: str, kind: str
) -> str | None:
    """Who PagerDuty's timeline shows as having made the latest ``kind`` change."""
    response = await http.get(f"{stack.pd_url}/_sim/log-entries")
    response.raise_for_status()
    entries = [
        e
        for e in response.json()["log_entries"]
        if e["incident_id"] == incident_id and e["type"] == kind
    ]
    return entries[-1]["agent_id"] if entries else None


async def test_a_jira_user_mapped_only_by_email_acts_as_themself_in_pagerduty(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    await person(
        http,
        stack,
        login="jo",
        pd_id="PJO0001",
        name="Jo Ng",
        pd_email="jo@example.com",
        jira_email="jo@example.com",
    )
    incident, issue = await linked_issue(stack, http, sims, quiet, "Mapped by e-mail")

    await add_comment(http, stack, issue["key"], "Rolled back the deploy", "jo")
    await wait_count(lambda: notes_of(http, stack, incident["id"]), 1, "jo's comment as a note")
    note = (await notes_of(http, stack, incident["id"]))[0]
    assert note["user"]["id"] == "PJO0001"  # Jo, not the integration user
    assert note["content"] == "Rolled back the deploy"  # written as Jo: no attribution line

    # and the other way: Jo's PagerDuty note is a Jira comment naming Jo by display name
    response = await http.post(
        f"{stack.pd_url}/_sim/incidents/{incident['id']}/notes",
        json={"content": "Watching the error rate", "as_user": "PJO0001"},
    )
    response.raise_for_status()
    await wait_count(lambda: comments_of(sims, issue["key"]), 2, "jo's note as a comment")
    bodies = [c["body"] for c in await comments_of(sims, issue["key"])]
    assert bodies[-1] == "[Jo Ng in PagerDuty]\nWatching the error rate"

    await transition_issue(http, stack, issue["key"], "In Progress", "jo")
    await wait_incident_status(sims, incident["id"], "acknowledged")
    assert await agent_of(http, stack, incident["id"], "acknowledge_log_entry") == "PJO0001"

    await transition_issue(http, stack, issue["key"], "Done", "jo")
    await wait_incident_status(sims, incident["id"], "resolved")
    assert await agent_of(http, stack, incident["id"], "resolve_log_entry") == "PJO0001"


async def test_an_unlinked_persons_changes_are_ignored_and_the_audit_says_why(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    # jdoe (seeded in the Jira simulator) has no PagerDuty user: no link, no e-mail match.
    incident, issue = await linked_issue(stack, http, sims, quiet, "Unlinked person")

    await add_comment(http, stack, issue["key"], "I think it is the cache", "jdoe")
    await transition_issue(http, stack, issue["key"], "In Progress", "jdoe")
    await quiet()

    assert await notes_of(http, stack, incident["id"]) == []
    assert (await sims.incident(incident["id"]))["status"] == "triggered"
    records = await audit_records(stack, f"jira:{INSTANCE}:{issue['id']}")
    ignored = [r for r in records if r.summary.startswith("ignored:")]
    for record in ignored:
        assert record.command_ids == ()
        assert "Jira user 'John Doe' is not linked to a PagerDuty user" in record.summary
        assert "unlinked_users: ignore" in record.summary
    why = [v.reason for r in ignored for v in r.verdicts if v.rule == "unlinked_users"]
    # the comment (its note) and the transition (its resolve), each ignored with the reason
    assert any("not sent: AddNote" in w for w in why), [r.summary for r in records]
    assert any("not sent: UpdateIncident" in w for w in why), [r.summary for r in records]

    # ... and `pdjira trace` of the issue says so where an operator looks first.
    trace = pdjira(stack, "trace", issue["key"])
    assert trace.returncode == 0, trace.stderr
    assert "is not linked to a PagerDuty user" in trace.stdout, trace.stdout
    assert "unlinked_users: ignore" in trace.stdout, trace.stdout


def self_link(stack: Stack, *, pd_key: str, jira_pat: str) -> subprocess.CompletedProcess[str]:
    """``pdjira users self-link`` as a person runs it: the tokens in environment variables."""
    return pdjira(
        stack,
        "users",
        "self-link",
        "--pd-token-env",
        "MY_PD_KEY",
        "--jira-token-env",
        "MY_JIRA_PAT",
        env={"MY_PD_KEY": pd_key, "MY_JIRA_PAT": jira_pat},
    )


async def test_a_person_links_themself_with_their_own_tokens_and_is_then_attributed(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    # Different e-mails on each side: only a link can tie them.
    await person(
        http,
        stack,
        login="sam",
        pd_id="PSAM001",
        name="Sam Lee",
        pd_email="sam@pd.example.com",
        jira_email="slee@jira.example.com",
    )
    account_key = stack.env["PD_TOKEN"]  # the integration's key: an account-level one
    refused = self_link(stack, pd_key=account_key, jira_pat="sam-jira-pat")
    assert refused.returncode == 2, refused.stderr
    assert "account-level API key" in refused.stderr  # it names nobody
    assert account_key not in refused.stderr + refused.stdout
    wrong = self_link(stack, pd_key="sam-pd-key", jira_pat="not-a-pat")
    assert wrong.returncode == 2
    assert "refused the personal access token" in wrong.stderr

    done = self_link(stack, pd_key="sam-pd-key", jira_pat="sam-jira-pat")
    assert done.returncode == 0, done.stderr
    assert "PSAM001" in done.stdout
    assert "sam" in done.stdout
    assert "sam-pd-key" not in done.stdout + done.stderr

    incident, issue = await linked_issue(stack, http, sims, quiet, "Self-linked person")
    await add_comment(http, stack, issue["key"], "Cache flushed", "sam")
    await wait_count(lambda: notes_of(http, stack, incident["id"]), 1, "sam's comment as a note")
    note = (await notes_of(http, stack, incident["id"]))[0]
    assert note["user"]["id"] == "PSAM001"
    assert note["content"] == "Cache flushed"
