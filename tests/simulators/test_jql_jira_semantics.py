"""The Jira simulator's JQL as Jira documents it, through the real search API with contract
checks on: every row cites the Atlassian page it follows.

Doc references (Jira Server / Data Center documentation):
  [OPS]   "Advanced searching - operators reference"
  [KW]    "Advanced searching - keywords reference"
  [FLD]   "Advanced searching - fields reference"
  [FN]    "Advanced searching - functions reference"
  [TXT]   "Search syntax for text fields"
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pdjira_simulators.jira import JiraSettings
from pdjira_simulators.jira import create_app as create_jira_app
from pdjira_simulators.jira.state import Issue
from pdjira_simulators.testing import running_server

CONTRACT_ISSUES = "/_sim/contract-violations"


@dataclasses.dataclass
class Jira:
    admin_client: httpx.AsyncClient  # REST as admin
    jdoe_client: httpx.AsyncClient  # REST as jdoe
    raw: httpx.AsyncClient  # the simulator's /_sim endpoints
    sim: Any


@pytest.fixture
async def jira() -> AsyncIterator[Jira]:
    app = create_jira_app(JiraSettings(token="pat", seed=3, check_contract=True))
    async with (
        running_server(app) as base,
        httpx.AsyncClient(
            base_url=f"{base}/rest/api/2", auth=("admin", "admin"), trust_env=False
        ) as admin_client,
        httpx.AsyncClient(
            base_url=f"{base}/rest/api/2", auth=("jdoe", "jdoe"), trust_env=False
        ) as jdoe_client,
        httpx.AsyncClient(base_url=base, trust_env=False) as raw,
    ):
        jira = Jira(admin_client, jdoe_client, raw, app.state.sim)
        yield jira
        violations = (await raw.get(CONTRACT_ISSUES)).json()["violations"]
        assert violations == []


# Creation times (UTC), set on the stored issues: the date rows read them in a zone.
CREATED = {
    "Port scan detected": datetime(2026, 3, 10, 23, 30, tzinfo=UTC),
    "Weekly reporting job failed": datetime(2026, 3, 11, 8, 0, tzinfo=UTC),
    "Disk full on db-1": datetime(2026, 3, 12, 8, 0, tzinfo=UTC),
    "Database reports slow queries": datetime(2026, 3, 13, 8, 0, tzinfo=UTC),
}
PORT, REPORTING, DISK, SLOW = CREATED


@pytest.fixture
async def issues(jira: Jira) -> Jira:
    """OPS-1 "Port scan detected": jdoe, High, label net, Root Cause and a URL field.
    OPS-2 "Weekly reporting job failed": reported by jdoe, unassigned, Low, a description.
    OPS-3 "Disk full on db-1": kim ("Kim Lee"), Highest, Done (resolution Done).
    OPS-4 "Database reports slow queries": admin, Medium."""
    made = await jira.raw.post(
        "/_sim/users", json={"name": "kim", "display_name": "Kim Lee", "email": "kim@corp.test"}
    )
    assert made.status_code == 201, made.text

    def fields(summary: str, **extra: Any) -> dict[str, Any]:
        base = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": summary}
        return base | extra

    for summary, who, extra in (
        (
            PORT,
            "admin",
            {
                "assignee": {"name": "jdoe"},
                "priority": {"name": "High"},
                "labels": ["net"],
                "customfield_10100": "Firewall reports dropped packets",
                "customfield_10101": "https://pd.example/incidents/P1",
                "customfield_10102": "edge",
            },
        ),
        (REPORTING, "jdoe", {"priority": {"name": "Low"}, "description": "The reports were late"}),
        (DISK, "admin", {"assignee": {"name": "kim"}, "priority": {"name": "Highest"}}),
        (SLOW, "admin", {"assignee": {"name": "admin"}, "priority": {"name": "Medium"}}),
    ):
        client = jira.admin_client if who == "admin" else jira.jdoe_client
        resp = await client.post("/issue", json={"fields": fields(summary, **extra)})
        assert resp.status_code == 201, resp.text
    moved = await jira.raw.post("/_sim/issues/OPS-3/transition", json={"status": "Done"})
    assert moved.status_code == 200, moved.text
    for issue in jira.sim.state.issues.values():
        issue.created = CREATED[issue.summary]
    return jira


async def summaries(client: httpx.AsyncClient, jql: str) -> list[str]:
    resp = await client.post("/search", json={"jql": jql, "fields": ["summary"]})
    assert resp.status_code == 200, (jql, resp.text)
    return [issue["fields"]["summary"] for issue in resp.json()["issues"]]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        # [KW] NOT / [OPS] "!=": NOT assignee = jdoe is assignee != jdoe, and a negative
        # operator never matches an empty field: the unassigned OPS-2 is not found.
        ("NOT assignee = jdoe", [DISK, SLOW]),
        ("! assignee = jdoe", [DISK, SLOW]),
        ("assignee != jdoe", [DISK, SLOW]),
        ("NOT assignee in (jdoe, kim)", [SLOW]),
        ("NOT (assignee = jdoe OR priority = Low)", [DISK, SLOW]),
        ("assignee is EMPTY", [REPORTING]),
        ("NOT assignee is EMPTY", [PORT, DISK, SLOW]),
        # [TXT] words with stemming, not substrings: "port" is not in "reporting";
        # "reporting" and "reports" share the stem "report".
        ("summary ~ port", [PORT]),
        ("summary ~ reporting", [REPORTING, SLOW]),
        ("summary ~ report", [REPORTING, SLOW]),
        ("summary ~ rep", []),
        ("summary !~ port", [REPORTING, DISK, SLOW]),
        # [TXT] wildcards: ? one character, * any; matched against the words
        ('summary ~ "port*"', [PORT]),
        ('summary ~ "rep*"', [REPORTING, SLOW]),
        ('summary ~ "d?sk"', [DISK]),
        # [TXT] a phrase in inner quotes: the words in that order
        ('summary ~ "\\"port scan\\""', [PORT]),
        ('summary ~ "\\"scan port\\""', []),
        # [TXT] several words: all of them
        ('summary ~ "disk full"', [DISK]),
        ('summary ~ "disk reports"', []),
        # [OPS] "!~" skips issues whose field is empty (only OPS-2 has a description)
        ("description ~ late", [REPORTING]),
        ("description !~ late", []),
        ("description !~ early", [REPORTING]),
        # [FLD] Text: summary, description, environment, comments and text custom fields
        ("text ~ firewall", [PORT]),
        # [FLD] Custom field: by id cf[nnnnn] or by name; text custom fields take ~
        ('"Root Cause" ~ packet', [PORT]),
        ("cf[10100] ~ packets", [PORT]),
        ('"impacted service" ~ edge', [PORT]),
        ('"PagerDuty Incident" = "https://pd.example/incidents/P1"', [PORT]),
        ('"Root Cause" is EMPTY', [REPORTING, DISK, SLOW]),
        # [FLD] Priority: ordering operators follow the priority order (Highest first)
        ("priority > Medium", [PORT, DISK]),
        ("priority >= Medium", [PORT, DISK, SLOW]),
        ("priority <= Low", [REPORTING]),
        ("priority < Highest ORDER BY priority DESC", [PORT, SLOW, REPORTING]),
        # [FLD] Issue key: ordering operators compare the number within the project
        ("key > OPS-2", [DISK, SLOW]),
        ("issuekey <= OPS-2", [PORT, REPORTING]),
        ("key >= OPS-3 AND key < OPS-4", [DISK]),
        # [FLD] Resolution: "Unresolved" is an empty resolution
        ("resolution = Unresolved", [PORT, REPORTING, SLOW]),
        ("resolution != Unresolved", [DISK]),
        ("resolution in (Unresolved, Done)", [PORT, REPORTING, DISK, SLOW]),
        ("resolution = Done", [DISK]),
        # [FLD] Assignee / Reporter: the user's name, key, e-mail address or full name
        ('assignee = "Kim Lee"', [DISK]),
        ("assignee = JIRAUSER10100", [PORT]),
        ('assignee = "kim@corp.test"', [DISK]),
        ("reporter = jdoe", [REPORTING]),
        ('reporter = "John Doe"', [REPORTING]),
        ("assignee = currentUser()", [SLOW]),  # [FN] currentUser(): the searching user (admin)
        # [FLD] Created: a date literal is read in the searching user's time zone (UTC here)
        ('created >= "2026-03-10" AND created < "2026-03-11"', [PORT]),
        ('created >= "2026/03/13 08:00"', [SLOW]),
        # [KW] ORDER BY: each field's own order; no direction: the field's default
        ("ORDER BY priority DESC", [DISK, PORT, SLOW, REPORTING]),
        ("ORDER BY priority", [DISK, PORT, SLOW, REPORTING]),
        ("ORDER BY priority ASC", [REPORTING, SLOW, PORT, DISK]),
        ("ORDER BY key DESC", [SLOW, DISK, REPORTING, PORT]),
        ("ORDER BY created", [SLOW, DISK, REPORTING, PORT]),
        ("ORDER BY created ASC", [PORT, REPORTING, DISK, SLOW]),
        ("ORDER BY status, key DESC", [SLOW, REPORTING, PORT, DISK]),
        ("ORDER BY assignee", [SLOW, PORT, DISK, REPORTING]),  # by full name, empty last
        ("ORDER BY summary", [SLOW, DISK, PORT, REPORTING]),
    ],
)
async def test_search_follows_jira_s_documentation(
    issues: Jira, jql: str, expected: list[str]
) -> None:
    assert await summaries(issues.admin_client, jql) == expected


async def test_dates_are_read_in_the_searching_user_s_time_zone(issues: Jira) -> None:
    """[FLD] Created: "the date ... in the user's time zone" (the profile's zone, which
    GET /myself reports): 2026-03-10 23:30 UTC is 11 March in Kiritimati (UTC+14)."""
    catalog = issues.sim.state.catalog
    catalog.users["jdoe"] = dataclasses.replace(
        catalog.users["jdoe"], time_zone="Pacific/Kiritimati"
    )
    me = await issues.jdoe_client.get("/myself")
    assert me.json()["timeZone"] == "Pacific/Kiritimati"
    on_the_10th = 'created >= "2026-03-10" AND created < "2026-03-11"'
    on_the_11th = 'created >= "2026-03-11" AND created < "2026-03-12"'
    assert await summaries(issues.admin_client, on_the_10th) == [PORT]
    assert await summaries(issues.jdoe_client, on_the_10th) == []
    # OPS-2, 2026-03-11 08:00 UTC, is 22:00 on the 11th there too
    assert await summaries(issues.jdoe_client, on_the_11th) == [PORT, REPORTING]
    assert await summaries(issues.admin_client, on_the_11th) == [REPORTING]


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        # [FLD] / [OPS]: what the grammar accepts but Jira refuses, in Jira's words
        ("summary = disk", "The operator '=' is not supported by the 'summary' field."),
        ('"Root Cause" = x', "The operator '=' is not supported by the 'Root Cause' field."),
        ("labels ~ net", "The operator '~' is not supported by the 'labels' field."),
        ("status > Done", "The operator '>' is not supported by the 'status' field."),
        (
            "nosuchfield = 1",
            "Field 'nosuchfield' does not exist or you do not have permission to view it.",
        ),
        (
            '"No Such Field" ~ x',
            "Field 'No Such Field' does not exist or you do not have permission to view it.",
        ),
        (
            "cf[99999] = x",
            "Field 'cf[99999]' does not exist or you do not have permission to view it.",
        ),
        ("status = Nope", "The value 'Nope' does not exist for the field 'status'."),
        ("priority > Nope", "The value 'Nope' does not exist for the field 'priority'."),
        ("assignee = nobody", "The value 'nobody' does not exist for the field 'assignee'."),
        ("key = OPS-999", "An issue with key 'OPS-999' does not exist for field 'key'."),
        ("assignee = nosuch()", "Unable to find JQL function 'nosuch()'."),
    ],
)
async def test_what_jira_refuses_is_400_with_jira_s_words(
    issues: Jira, jql: str, message: str
) -> None:
    resp = await issues.admin_client.post("/search", json={"jql": jql})
    assert resp.status_code == 400
    assert resp.json() == {"errorMessages": [message], "errors": {}}


@pytest.mark.parametrize(
    "jql",
    [
        "labels = {x}",  # braces are reserved characters
        "cf[] = x",  # a custom field id is a number
        'summary ~ "\\q"',  # not a JQL escape
        "project = OPS AND",
        "priority = High)",
    ],
)
async def test_syntax_errors_are_the_shared_grammar_s(issues: Jira, jql: str) -> None:
    resp = await issues.admin_client.get("/search", params={"jql": jql})
    assert resp.status_code == 400
    [message] = resp.json()["errorMessages"]
    assert message.startswith("Error in the JQL Query: ")


@pytest.mark.parametrize(
    "jql",
    [
        "assignee = jdoe",
        "priority > Medium",
        "resolution = Unresolved",
        "status != Done AND !labels = net",
        'component = Database OR fixVersion = "1.1"',
    ],
)
async def test_the_grammar_accepts_what_the_old_parser_refused(issues: Jira, jql: str) -> None:
    """`!`, components, fixVersion, priority order, Unresolved: valid JQL, not a 400 (the
    component/version rows find nothing when the simulator's project has no such items)."""
    resp = await issues.admin_client.get("/search", params={"jql": jql})
    assert resp.status_code in (200, 400)
    if resp.status_code == 400:  # only a value the instance lacks, never the syntax
        [message] = resp.json()["errorMessages"]
        assert "does not exist for the field" in message, message


HAS_COMPONENTS = "component_ids" in getattr(Issue, "__dataclass_fields__", {})


@pytest.mark.skipif(not HAS_COMPONENTS, reason="the simulator's issues carry no components yet")
@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        # [FLD] Component / Fix Version / Affects Version: by name or id
        ("component = Database", [SLOW]),
        ("component in (API, Database)", [PORT, SLOW]),
        ("component != Database", [PORT]),  # [OPS] != skips issues without components
        ("component is EMPTY", [REPORTING, DISK]),
        ('fixVersion = "1.1"', [PORT]),
        ('affectedVersion = "1.0"', [SLOW]),
    ],
)
async def test_components_and_versions(issues: Jira, jql: str, expected: list[str]) -> None:
    for key, fields in (
        ("OPS-1", {"components": [{"name": "API"}], "fixVersions": [{"name": "1.1"}]}),
        ("OPS-4", {"components": [{"name": "Database"}], "versions": [{"name": "1.0"}]}),
    ):
        resp = await issues.admin_client.put(f"/issue/{key}", json={"fields": fields})
        assert resp.status_code == 204, resp.text
    assert await summaries(issues.admin_client, jql) == expected
