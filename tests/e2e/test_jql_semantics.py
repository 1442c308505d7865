"""JQL the rules service cannot decide exactly as Jira does is asked of Jira; JQL Jira refuses
refuses the rule. Real NATS, every service its own process, the simulators.

- ``summary ~ "port"``: Jira's text search matches words (with English stems), so "Port scan"
  matches and "Weekly reporting job" does not; the rules service asks Jira's search for both.
- a JQL Jira answers 400 (an unknown function): the rule is refused with Jira's words (its
  audit verdicts and ``GET /rules`` say so), the event is not retried nor dead-lettered, and
  later events do not ask Jira again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from pdjira_common.contracts import AuditRecord, decode_trail
from pdjira_common.streams import AUDIT, DLQ
from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack, StackSettings
from pdjira_devstack.waiting import wait_until

from .conftest import FAST, assert_no_contract_violations
from .helpers import Quiet

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-jql-semantics-stack")]

SEARCH = "/rest/api/2/search"
JIRA_SAYS = "Unable to find JQL function 'noSuchFunction()'."


def _rule(name: str, jql: str) -> dict[str, Any]:
    return {
        "account": ACCOUNT,
        "instance": INSTANCE,
        "rule": {
            "name": name,
            "enabled": True,
            "config": {
                "services": [{"summary": "Checkout API"}],
                "projects": [{"key": "OPS"}],
                "issue_types": [{"label": "Task"}],
                "autocreate_incidents": True,
                "autocreate_incidents_config": [
                    {
                        "jql": jql,
                        "on_create": True,
                        "on_update": True,
                        "target_service": {"summary": "Checkout API"},
                    }
                ],
            },
        },
    }


PORT_RULE = _rule("port incidents", 'project = OPS AND summary ~ "port"')
BAD_RULE = _rule(
    "rejected by jira", "project = OPS AND labels = jql-refused AND assignee in noSuchFunction()"
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("jqlsem")
    settings = StackSettings(
        **{**FAST.__dict__, "rules": [], "pagerduty_rules": [PORT_RULE, BAD_RULE]}
    )
    with Stack(workdir, settings) as running:
        yield running
        assert_no_contract_violations(running)


async def jira_create(http: httpx.AsyncClient, stack: Stack, **fields: Any) -> dict[str, Any]:
    response = await http.post(
        f"{stack.jira_url}/_sim/issues", json={"as_user": "jdoe", "issuetype": "Task", **fields}
    )
    response.raise_for_status()
    issue: dict[str, Any] = response.json()
    return issue


async def jira_edit(http: httpx.AsyncClient, stack: Stack, key: str, fields: dict) -> None:
    response = await http.post(
        f"{stack.jira_url}/_sim/issues/{key}/edit", json={"as_user": "jdoe", "fields": fields}
    )
    response.raise_for_status()


async def incidents_for_issue(http: httpx.AsyncClient, stack: Stack, key: str) -> list[dict]:
    response = await http.get(f"{stack.pd_url}/_sim/state")
    response.raise_for_status()
    return [i for i in response.json()["incidents"] if i.get("incident_key") == key]


async def searches(http: httpx.AsyncClient, stack: Stack) -> list[dict[str, Any]]:
    response = await http.get(f"{stack.jira_url}/_sim/requests")
    response.raise_for_status()
    return [r for r in response.json()["requests"] if r["path"] == SEARCH]


async def stream_records(stack: Stack, stream: str, subject: str) -> list[bytes]:
    nc = await nats.connect(stack.nats.url)
    try:
        js = nc.jetstream()
        last = (await js.stream_info(stream)).state.last_seq
        found: list[bytes] = []
        if not last:
            return found
        sub = await js.subscribe(subject, stream=stream, ordered_consumer=True)
        try:
            while True:
                msg = await sub.next_msg(timeout=10.0)
                found.append(msg.data)
                if msg.metadata.sequence.stream >= last:
                    return found
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()


async def audit_records(stack: Stack, entity: str) -> list[AuditRecord]:
    records = [decode_trail(d) for d in await stream_records(stack, AUDIT, "audit.>")]
    return [
        r
        for r in records
        if isinstance(r, AuditRecord) and r.entity == entity and r.service == "rules"
    ]


async def test_text_search_is_asked_of_jira_and_matches_words(
    stack: Stack, http: httpx.AsyncClient, quiet: Quiet
) -> None:
    await http.delete(f"{stack.jira_url}/_sim/requests")
    scan = await jira_create(http, stack, summary="Port scan from 10.0.0.7")

    async def paged() -> list[dict] | None:
        return await incidents_for_issue(http, stack, scan["key"]) or None

    await wait_until(paged, timeout=30, what=f"an incident for {scan['key']} (Port scan)")
    assert await searches(http, stack), "the rules service never asked Jira's search"
    records = await audit_records(stack, f"jira:{INSTANCE}:{scan['id']}")
    matched = [v for r in records for v in r.verdicts if v.matched and v.rule == "port incidents"]
    assert matched, [v for r in records for v in r.verdicts]
    assert "Jira" in matched[0].reason, matched[0].reason

    await http.delete(f"{stack.jira_url}/_sim/requests")
    report = await jira_create(http, stack, summary="Weekly reporting job failed")
    await quiet()
    assert await searches(http, stack), "'~' must be Jira's call, not a local substring match"
    # Jira matches words: "port" is not in "reporting" (the simulator must do the same).
    assert await incidents_for_issue(http, stack, report["key"]) == []


async def test_jql_jira_rejects_refuses_the_rule_with_jiras_words_and_is_not_retried(
    stack: Stack, http: httpx.AsyncClient, quiet: Quiet
) -> None:
    await http.delete(f"{stack.jira_url}/_sim/requests")
    issue = await jira_create(http, stack, summary="Disk full", labels=["jql-refused"])
    await quiet()
    rejected = [r for r in await searches(http, stack) if r["status"] == 400]
    assert len(rejected) == 1, await searches(http, stack)  # asked once: no retry loop
    assert await incidents_for_issue(http, stack, issue["key"]) == []
    assert await stream_records(stack, DLQ, ">") == []  # decided, not dead-lettered

    records = await audit_records(stack, f"jira:{INSTANCE}:{issue['id']}")
    refused = [v for r in records for v in r.verdicts if v.rule == "rejected by jira"]
    assert refused, [v for r in records for v in r.verdicts]
    assert not refused[0].matched
    assert JIRA_SAYS in refused[0].reason, refused[0].reason

    url = f"{stack.rules_url}/rules"
    auth = {"Authorization": f"Bearer {stack.env['RULES_ADMIN_TOKEN']}"}
    listed = (await http.get(url, headers=auth)).json()["rules"]
    [bad] = [r for r in listed if r["name"] == "rejected by jira"]
    assert bad["pdjira"]["state"] == "refused"
    assert any(JIRA_SAYS in p for p in bad["pdjira"]["refused"]), bad["pdjira"]

    # The issue changes again: the refused rule does not ask Jira again.
    await jira_edit(http, stack, issue["key"], {"summary": "Disk full on db-2"})
    await quiet()
    assert [r for r in await searches(http, stack) if r["status"] == 400] == rejected
