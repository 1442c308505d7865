"""The official Python clients (`pagerduty`, pycontribs `jira`) work against the simulators.

The clients are synchronous, so each scenario runs in a worker thread while the simulator
serves from the test's event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pagerduty
from jira import JIRA
from pdjira_simulators.jira import JiraSettings
from pdjira_simulators.jira import create_app as create_jira
from pdjira_simulators.pagerduty import PagerDutySettings
from pdjira_simulators.pagerduty import create_app as create_pd
from pdjira_simulators.testing import running_server


def pagerduty_scenario(base_url: str) -> dict[str, Any]:
    client = pagerduty.RestApiV2Client("t", default_from="pdjira-bot@example.com")
    # The client insists on https:// for its base URL; the simulator speaks plain HTTP.
    client._url = base_url
    bot = client.find("users", "pdjira-bot@example.com", attribute="email")
    created = client.rpost(
        "incidents",
        json={
            "type": "incident",
            "title": "From the official client",
            "service": {"id": "PSVC001", "type": "service_reference"},
        },
    )
    assert isinstance(created, dict)
    client.rput(
        f"incidents/{created['id']}", json={"type": "incident_reference", "status": "acknowledged"}
    )
    client.rpost(f"incidents/{created['id']}/notes", json={"content": "note"})
    incidents = list(client.iter_all("incidents", params={"statuses[]": ["acknowledged"]}))
    priorities = list(client.iter_all("priorities"))
    fetched = client.rget(f"incidents/{created['id']}")
    assert isinstance(fetched, dict)
    # Pagination: 7 triggered incidents in pages of 3 (limit/offset/more).
    paged = [i["title"] for i in client.iter_all("incidents", page_size=3)]
    return {
        "bot": bot,
        "incidents": incidents,
        "priorities": priorities,
        "fetched": fetched,
        "paged": paged,
    }


def pagerduty_throttled_scenario(base_url: str, admin: httpx.Client) -> dict[str, Any]:
    """The client's own retry on 429 (`retry` / `sleep_timer`) against a burst of 429s."""
    client = pagerduty.RestApiV2Client("t", default_from="pdjira-bot@example.com")
    client._url = base_url
    client.sleep_timer, client.sleep_timer_base = 0.05, 1  # keep the test fast
    admin.put("/_sim/faults", json={"throttle_burst": 3}).raise_for_status()
    priorities = client.rget("priorities")
    return {"priorities": priorities, "log": admin.get("/_sim/requests").json()["requests"]}


async def test_official_pagerduty_client() -> None:
    app = create_pd(PagerDutySettings(token="t", seed=5))
    async with running_server(app) as base:
        for i in range(6):  # created in the PagerDuty UI, so to speak (no webhook target)
            app.state.sim.state.create_incident(
                agent_id="PUSER01", title=f"other {i}", service_id="PSVC001"
            )
        result = await asyncio.to_thread(pagerduty_scenario, base)
    assert result["bot"]["id"] == "PUSER02"
    assert [i["title"] for i in result["incidents"]] == ["From the official client"]
    assert [p["name"] for p in result["priorities"]] == ["P1", "P2", "P3", "P4", "P5"]
    assert result["fetched"]["status"] == "acknowledged"
    assert result["fetched"]["acknowledgements"][0]["acknowledger"]["id"] == "PUSER02"
    assert result["paged"] == [*(f"other {i}" for i in range(6)), "From the official client"]
    pages = [r for r in app.state.sim.requests.entries() if "limit=3" in r.query]
    assert [r.query.split("offset=")[1].split("&")[0] for r in pages] == ["0", "3", "6"]


async def test_official_pagerduty_client_retries_a_429_burst() -> None:
    app = create_pd(PagerDutySettings(token="t", seed=5))
    async with running_server(app) as base:
        with httpx.Client(base_url=base, trust_env=False) as admin:
            result = await asyncio.to_thread(pagerduty_throttled_scenario, base, admin)
    assert [p["name"] for p in result["priorities"]] == ["P1", "P2", "P3", "P4", "P5"]
    assert [r["status"] for r in result["log"]] == [429, 429, 429, 200]


def jira_scenario(base_url: str) -> dict[str, Any]:
    client = JIRA(server=base_url, basic_auth=("admin", "admin"))
    issue = client.create_issue(
        project="OPS",
        issuetype={"name": "Incident"},
        summary="From pycontribs",
        labels=["pagerduty"],
    )
    issue.update(fields={"summary": "Updated by pycontribs"})
    names = [t["name"] for t in client.transitions(issue)]
    client.transition_issue(issue, "Start Progress")
    client.transition_issue(issue, "31", fields={"resolution": {"name": "Done"}})
    client.add_comment(issue, "comment from pycontribs")
    client.assign_issue(issue, "jdoe")
    client.add_simple_link(issue.key, {"url": "https://pd.example/incidents/Q1", "title": "Q1"})
    client.add_issue_property(issue.key, "pagerduty", {"incident": "Q1"})
    found = client.search_issues("project = OPS AND labels = pagerduty")
    fresh = client.issue(issue.key)
    assert fresh.fields.resolution is not None
    assert fresh.fields.assignee is not None
    return {
        "server": client.server_info(),
        "names": names,
        "found": [i.key for i in found],
        "status": fresh.fields.status.name,
        "resolution": fresh.fields.resolution.name,
        "summary": fresh.fields.summary,
        "assignee": fresh.fields.assignee.name,
        "comments": [c.body for c in client.comments(issue)],
        "links": len(client.remote_links(issue)),
        "properties": client.issue_properties(issue.key),
        "priorities": [p.name for p in client.priorities()],
        "me": client.myself()["name"],
    }


async def test_official_jira_client() -> None:
    app = create_jira(JiraSettings(seed=5))
    async with running_server(app) as base:
        result = await asyncio.to_thread(jira_scenario, base)
    assert result["server"]["versionNumbers"] == [10, 3, 4]
    assert sorted(result["names"]) == ["Done", "Start Progress"]
    assert result["found"] == ["OPS-1"]
    assert result["status"] == "Done"
    assert result["resolution"] == "Done"
    assert result["summary"] == "Updated by pycontribs"
    assert result["assignee"] == "jdoe"
    assert result["comments"] == ["comment from pycontribs"]
    assert result["links"] == 1
    assert result["priorities"][0] == "Highest"
    assert result["me"] == "admin"
    assert len(result["properties"]) == 1


def jira_throttled_scenario(base_url: str) -> dict[str, Any]:
    """pycontribs' ResilientSession retries a 429 after `Retry-After` (capped here)."""
    client = JIRA(server=base_url, basic_auth=("admin", "admin"))
    client._session.max_retry_delay = 0.1  # keep the test fast
    with httpx.Client(base_url=base_url, trust_env=False) as admin:
        admin.delete("/_sim/requests").raise_for_status()
        burst = {"throttle_burst": 2, "paths": ["/rest/api/2/search"]}
        admin.put("/_sim/faults", json=burst).raise_for_status()
        found = client.search_issues("project = OPS")
        log = admin.get("/_sim/requests").json()["requests"]
    return {"found": len(found), "log": log}


async def test_official_jira_client_retries_a_429_burst() -> None:
    app = create_jira(JiraSettings(seed=5))
    async with running_server(app) as base, httpx.AsyncClient(base_url=base) as admin:
        (await admin.post("/_sim/issues", json={"summary": "one"})).raise_for_status()
        result = await asyncio.to_thread(jira_throttled_scenario, base)
    assert result["found"] == 1
    searches = [r["status"] for r in result["log"] if r["path"] == "/rest/api/2/search"]
    assert searches == [429, 429, 200]
