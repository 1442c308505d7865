"""``pdjira trace``: an incident creates OPS-N and the trace of OPS-N shows the whole path (the
webhook received, the rule verdicts, the CreateIssue command, the jira-writer's POST with 201
and its latency, the outcome), for a person, as JSON and over the mapping admin API."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack
from pdjira_devstack.waiting import SimulatorState, wait_until

from .conftest import SHARED_STACK
from .helpers import Quiet, one_issue_for, pdjira, wait_link

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]


async def test_trace_of_the_issue_shows_the_whole_path_to_the_jira_write(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident = await trigger_incident(http, stack.pd_url, "Trace me: disk full")
    issue = await one_issue_for(sims, quiet, incident["id"])
    await wait_link(stack, incident["id"])
    key = issue["key"]

    async def traced() -> subprocess.CompletedProcess[str] | None:
        shown = pdjira(stack, "trace", key)
        return shown if shown.returncode == 0 and "-> 201 in " in shown.stdout else None

    shown = await wait_until(traced, timeout=30, what=f"the trace of {key} with the Jira write")
    out = shown.stdout
    entity = f"pd:{ACCOUNT}:{incident['id']}"
    assert out.splitlines()[0] == (f"trace of {key}: jira:{INSTANCE}:{issue['id']}, {entity}"), out
    lines = out.splitlines()
    steps = [line for line in lines[1:] if not line.startswith(" ")]

    def step(text: str) -> int:
        return next(i for i, line in enumerate(steps) if text in line)

    received = step("webhook received: incident.triggered")
    decided = step("rules decided incident.triggered: 1 command(s): CreateIssue")
    written = step("jira-writer CreateIssue ")
    assert received < decided < written, out
    assert "+0 ms" in steps[received]
    assert ": done (" in steps[written]
    assert steps[written].endswith(" ms)")
    assert "      + checkout-to-ops" in out  # the rule's verdicts, indented under the decision
    post = next(line for line in lines if "POST /rest/api/2/issue -> 201 in " in line)
    assert float(post.rsplit(" in ", 1)[1].removesuffix(" ms")) > 0
    assert f"done: issue {key} (id {issue['id']}) created; linked to incident" in out

    # The same as JSON, and over the admin API.
    as_json = pdjira(stack, "trace", key, "--json")
    assert as_json.returncode == 0, as_json.stderr
    trace = json.loads(as_json.stdout)
    kinds = [s["kind"] for s in trace["steps"]]
    assert {"received", "decided", "write"} <= set(kinds)
    [write] = [s for s in trace["steps"] if s["kind"] == "write" and s["entity"] == entity]
    assert write["latency_ms"] > 0
    assert write["since_start_ms"] > 0
    response = await http.get(
        f"{stack.url('mapping')}/admin/v1/trace/{key}",
        headers={"Authorization": f"Bearer {stack.env['MAPPING_ADMIN_TOKEN']}"},
    )
    assert response.status_code == 200, response.text
    assert [s["kind"] for s in response.json()["steps"]][: len(kinds)] == kinds[: len(kinds)]

    # The incident id and the correlation id find the same path.
    by_incident = pdjira(stack, "trace", incident["id"])
    assert by_incident.returncode == 0, by_incident.stderr
    assert "POST /rest/api/2/issue -> 201" in by_incident.stdout
    by_correlation = pdjira(stack, "trace", write["correlation_id"])
    assert by_correlation.returncode == 0, by_correlation.stderr
    assert by_correlation.stdout.splitlines()[0] == f"trace of {write['correlation_id']}: {entity}"
    assert "webhook received: incident.triggered" in by_correlation.stdout
    assert "POST /rest/api/2/issue -> 201" in by_correlation.stdout
    assert "issue_created" not in by_correlation.stdout  # that is another event's path

    # audit show: the decisions and the writer's record (the write's status) by issue key.
    audit = pdjira(stack, "audit", "show", key, "--instance", INSTANCE)
    assert audit.returncode == 0, audit.stderr
    assert "+ checkout-to-ops" in audit.stdout
    assert "POST /rest/api/2/issue -> 201 in " in audit.stdout
    assert f"jira-writer {write['title'].split()[2]} attempt 1: done: issue {key}" in audit.stdout


async def test_an_unknown_reference_exits_1_saying_what_to_give(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    shown = pdjira(stack, "trace", "NOPE-999999")
    assert shown.returncode == 1
    assert "nothing found for 'NOPE-999999'" in shown.stderr
    assert "give an issue key (OPS-1)" in shown.stderr
    assert shown.stdout == ""
    wrong = pdjira(stack, "trace", "OPS-1", "--instance", "elsewhere")
    assert wrong.returncode == 1
    assert "nothing found" in wrong.stderr or "is not in Jira instance 'elsewhere'" in wrong.stderr
    url = f"{stack.url('mapping')}/admin/v1/trace/NOPE-999999"
    token = {"Authorization": f"Bearer {stack.env['MAPPING_ADMIN_TOKEN']}"}
    missing = await http.get(url, headers=token)
    assert missing.status_code == 404
    assert "nothing found for 'NOPE-999999'" in missing.json()["error"]
    assert (await http.get(url)).status_code == 401  # the admin token is required
