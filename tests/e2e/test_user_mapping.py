"""User mapping end to end, with ``mapping.unlinked_users: ignore`` (PagerDuty's behaviour):
a Jira user linked only by e-mail acts as themself in PagerDuty, an unlinked person's change
does nothing (and the audit says why), and a person links themself with their own tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from pdjira_common.contracts import AuditRecord, decode_trail
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack, StackSettings
from pdjira_devstack.waiting import SimulatorState, wait_until

from .conftest import FAST, assert_no_contract_violations
from .helpers import (
    Quiet,
    comments_of,
    notes_of,
    one_issue_for,
    quiet_signal,
    wait_count,
    wait_link,
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

SETTINGS = StackSettings(
    rules=[],
    pagerduty_rules=[RULE],
    ack_wait=FAST.ack_wait,
    base_delay=FAST.base_delay,
    max_delay=FAST.max_delay,
    webhook_retry_delay=FAST.webhook_retry_delay,
    check_contract=True,
    extra_config={
        "mapping": {"admin_token": "${env:MAPPING_ADMIN_TOKEN}", "unlinked_users": "ignore"}
    },
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(tmp_path_factory.mktemp("users-stack"), SETTINGS) as running:
        yield running
        assert_no_contract_violations(running)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@pytest.fixture
def sims(stack: Stack, http: httpx.AsyncClient) -> SimulatorState:
    return SimulatorState(http, stack.pd_url, stack.jira_url)


@pytest.fixture
async def bus(stack: Stack) -> AsyncIterator[Client]:
    nc = await nats.connect(stack.nats.url)
    try:
        yield nc
    finally:
        await nc.close()


@pytest.fixture
def quiet(bus: Client, sims: SimulatorState) -> Quiet:
    return quiet_signal(bus.jetstream(), sims)


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


async def linked_incident(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet, title: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    incident = await trigger_incident(http, stack.pd_url, title)
    issue = await one_issue_for(sims, quiet, incident["id"])
    await wait_link(stack, incident["id"])
    return incident, issue


async def comment_as(
    http: httpx.AsyncClient, stack: Stack, key: str, login: str, text: str
) -> None:
    response = await http.post(
        f"{stack.jira_url}/_sim/issues/{key}/comment", json={"body": text, "as_user": login}
    )
    response.raise_for_status()


async def transition_as(
    http: httpx.AsyncClient, stack: Stack, key: str, login: str, status: str
) -> None:
    response = await http.post(
        f"{stack.jira_url}/_sim/issues/{key}/transition", json={"status": status, "as_user": login}
    )
    response.raise_for_status()


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


async def wait_status(sims: SimulatorState, incident_id: str, status: str) -> None:
    async def reached() -> bool:
        return (await sims.incident(incident_id))["status"] == status

    await wait_until(reached, timeout=30, what=f"incident {incident_id} {status}")


async def audit_records(bus: Client, entity: str) -> list[AuditRecord]:
    """Every audit record of ``entity`` in stream AUDIT (read from the start)."""
    js = bus.jetstream()
    sub = await js.subscribe("audit.>", ordered_consumer=True, deliver_policy="all")
    records: list[AuditRecord] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=1.0)
            except TimeoutError:
                break
            record = decode_trail(msg.data)  # decisions (rules) and writes (the writers)
            if isinstance(record, AuditRecord) and record.entity == entity:
                records.append(record)
    finally:
        await sub.unsubscribe()
    return records


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
    incident, issue = await linked_incident(stack, http, sims, quiet, "Mapped by e-mail")

    await comment_as(http, stack, issue["key"], "jo", "Rolled back the deploy")
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

    await transition_as(http, stack, issue["key"], "jo", "In Progress")
    await wait_status(sims, incident["id"], "acknowledged")
    assert await agent_of(http, stack, incident["id"], "acknowledge_log_entry") == "PJO0001"

    await transition_as(http, stack, issue["key"], "jo", "Done")
    await wait_status(sims, incident["id"], "resolved")
    assert await agent_of(http, stack, incident["id"], "resolve_log_entry") == "PJO0001"


async def test_an_unlinked_persons_changes_are_ignored_and_the_audit_says_why(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet, bus: Client
) -> None:
    # jdoe (seeded in the Jira simulator) has no PagerDuty user: no link, no e-mail match.
    incident, issue = await linked_incident(stack, http, sims, quiet, "Unlinked person")

    await comment_as(http, stack, issue["key"], "jdoe", "I think it is the cache")
    await transition_as(http, stack, issue["key"], "jdoe", "In Progress")
    await quiet()

    assert await notes_of(http, stack, incident["id"]) == []
    assert (await sims.incident(incident["id"]))["status"] == "triggered"
    records = await audit_records(bus, f"jira:{INSTANCE}:{issue['id']}")
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
    trace = pdjira_trace(stack, issue["key"])
    assert trace.returncode == 0, trace.stderr
    assert "is not linked to a PagerDuty user" in trace.stdout, trace.stdout
    assert "unlinked_users: ignore" in trace.stdout, trace.stdout


def pdjira_trace(stack: Stack, key: str) -> subprocess.CompletedProcess[str]:
    """``pdjira trace KEY`` against the stack."""
    return subprocess.run(
        [sys.executable, "-m", "pdjira_cli.main", "trace", key, "--config", str(stack.config_path)],
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def self_link(stack: Stack, *, pd_key: str, jira_pat: str) -> subprocess.CompletedProcess[str]:
    """``pdjira users self-link`` as a person runs it: the tokens in environment variables."""
    env = {**os.environ, **stack.env, "MY_PD_KEY": pd_key, "MY_JIRA_PAT": jira_pat}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pdjira_cli.main",
            "users",
            "self-link",
            "--config",
            str(stack.config_path),
            "--pd-token-env",
            "MY_PD_KEY",
            "--jira-token-env",
            "MY_JIRA_PAT",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
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

    incident, issue = await linked_incident(stack, http, sims, quiet, "Self-linked person")
    await comment_as(http, stack, issue["key"], "sam", "Cache flushed")
    await wait_count(lambda: notes_of(http, stack, incident["id"]), 1, "sam's comment as a note")
    note = (await notes_of(http, stack, incident["id"]))[0]
    assert note["user"]["id"] == "PSAM001"
    assert note["content"] == "Cache flushed"
