"""The official Python clients (`pagerduty`, pycontribs `jira`) work against the simulators.

The clients are synchronous, so each scenario runs in a worker thread while the simulator
serves from the test's event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

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
    return {"bot": bot, "incidents": incidents, "priorities": priorities, "fetched": fetched}


async def test_official_pagerduty_client() -> None:
    app = create_pd(PagerDutySettings(token="t", seed=5))
    async with running_server(app) as base:
        result = await asyncio.to_thread(pagerduty_scenario, base)
    assert result["bot"]["id"] == "PUSER02"
    assert [i["title"] for i in result["incidents"]] == ["From the official client"]
    assert [p["name"] for p in result["priorities"]] == ["P1", "P2", "P3", "P4", "P5"]
    assert result["fetched"]["status"] == "acknowledged"
    assert result["fetched"]["acknowledgements"][0]["acknowledger"]["id"] == "PUSER02"


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
