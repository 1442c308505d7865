"""Contract: the simulators' answers (and our test requests) match the vendors' OpenAPI specs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pdjira_simulators.contract import ContractViolation, SpecChecker, find_specs_dir
from pdjira_simulators.jira import JiraSettings
from pdjira_simulators.jira import create_app as create_jira
from pdjira_simulators.pagerduty import PagerDutySettings
from pdjira_simulators.pagerduty import create_app as create_pd
from pdjira_simulators.testing import running_server

SPECS = find_specs_dir()


@pytest.fixture(autouse=True)
def vendor_specs_present() -> None:
    # A missing spec is a broken checkout, not a reason to skip the contract.
    assert SPECS is not None, (
        "vendor OpenAPI specs not found: keep shared/ beside the checkout or set PDJIRA_SPECS_DIR"
    )


class Recorder:
    """Keeps every exchange so each can be checked against the spec after the scenario."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        self.responses.append(response)


@pytest.fixture
async def pd_client() -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    recorder = Recorder()
    app = create_pd(PagerDutySettings(token="t", seed=1))
    headers = {
        "Authorization": "Token token=t",
        "From": "pdjira-bot@example.com",
        "Accept": "application/vnd.pagerduty+json;version=2",
        "Content-Type": "application/json",
    }
    async with (
        running_server(app) as base,
        httpx.AsyncClient(
            base_url=base, headers=headers, event_hooks={"response": [recorder]}, trust_env=False
        ) as client,
    ):
        yield client, recorder


@pytest.fixture
async def jira_client() -> AsyncIterator[tuple[httpx.AsyncClient, Recorder]]:
    recorder = Recorder()
    app = create_jira(JiraSettings(seed=1))
    async with (
        running_server(app) as base,
        httpx.AsyncClient(
            base_url=f"{base}/rest/api/2",
            auth=("admin", "admin"),
            event_hooks={"response": [recorder]},
            trust_env=False,
        ) as client,
    ):
        yield client, recorder


def check_all(checker: SpecChecker, recorder: Recorder) -> None:
    problems = []
    for response in recorder.responses:
        try:
            checker.check(response)
        except ContractViolation as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)
    assert recorder.responses


async def test_pagerduty_exchanges_match_the_spec(
    pd_client: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, recorder = pd_client
    assert SPECS is not None
    created = await client.post(
        "/incidents",
        json={
            "incident": {
                "type": "incident",
                "title": "Disk full",
                "service": {"id": "PSVC001", "type": "service_reference"},
                "priority": {"id": "PPRI001", "type": "priority_reference"},
                "urgency": "high",
                "incident_key": "k1",
            }
        },
    )
    incident_id = created.json()["incident"]["id"]
    await client.post(
        "/incidents",
        json={
            "incident": {
                "type": "incident",
                "title": "No priority",
                "service": {"id": "PSVC001", "type": "service_reference"},
            }
        },
    )
    await client.get(f"/incidents/{incident_id}")
    await client.get("/incidents", params={"statuses[]": ["triggered"], "total": "true"})
    await client.put(
        f"/incidents/{incident_id}",
        json={"incident": {"type": "incident_reference", "status": "acknowledged"}},
    )
    await client.put(
        "/incidents",
        json={
            "incidents": [{"id": incident_id, "type": "incident_reference", "status": "resolved"}]
        },
    )
    await client.post(f"/incidents/{incident_id}/notes", json={"note": {"content": "hi"}})
    await client.get(f"/incidents/{incident_id}/notes")
    await client.get("/users", params={"query": "pat"})
    await client.get("/services")
    await client.get("/priorities")
    sub = await client.post(
        "/webhook_subscriptions",
        json={
            "webhook_subscription": {
                "type": "webhook_subscription",
                "delivery_method": {"type": "http_delivery_method", "url": "https://example.com/h"},
                "events": ["incident.triggered"],
                "filter": {"type": "account_reference"},
            }
        },
    )
    await client.get("/webhook_subscriptions")
    await client.delete(f"/webhook_subscriptions/{sub.json()['webhook_subscription']['id']}")
    await client.get("/incidents/NOPE")
    assert [r.status_code for r in recorder.responses] == [
        201,
        201,
        200,
        200,
        200,
        200,
        200,
        200,
        200,
        200,
        200,
        200,
        200,
        204,
        404,
    ]
    check_all(SpecChecker.pagerduty(SPECS), recorder)


async def test_jira_exchanges_match_the_spec(
    jira_client: tuple[httpx.AsyncClient, Recorder],
) -> None:
    client, recorder = jira_client
    assert SPECS is not None
    created = await client.post(
        "/issue",
        json={
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Incident"},
                "summary": "Disk full",
                "labels": ["pagerduty"],
                "priority": {"name": "High"},
            }
        },
    )
    key = created.json()["key"]
    await client.get(f"/issue/{key}")
    await client.put(f"/issue/{key}", json={"fields": {"summary": "Disk full on db-1"}})
    await client.get(f"/issue/{key}/transitions", params={"expand": "transitions.fields"})
    await client.post(f"/issue/{key}/transitions", json={"transition": {"id": "11"}})
    await client.post(f"/issue/{key}/comment", json={"body": "from PD"})
    await client.get(f"/issue/{key}/comment")
    await client.get("/search", params={"jql": "project = OPS"})
    await client.post("/search", json={"jql": "labels = pagerduty", "maxResults": 10})
    for path in (
        "/priority",
        "/status",
        "/project/OPS",
        "/field",
        "/myself",
        "/resolution",
        "/issuetype",
    ):
        await client.get(path)
    await client.get("/user/search", params={"username": "jdoe"})
    await client.get("/issue/createmeta/OPS/issuetypes")
    await client.get("/issue/createmeta/OPS/issuetypes/10005")
    await client.put(f"/issue/{key}/properties/pagerduty", json={"incident": "Q1"})
    await client.get(f"/issue/{key}/properties/pagerduty")
    await client.get("/issue/OPS-999")
    statuses: list[Any] = [r.status_code for r in recorder.responses]
    assert statuses[:5] == [201, 200, 204, 200, 204]
    assert statuses[-1] == 404
    check_all(SpecChecker.jira(SPECS), recorder)


def test_checker_rejects_a_wrong_shape() -> None:
    """The contract check itself can fail (a simulator bug would not go unnoticed)."""
    assert SPECS is not None
    request = httpx.Request(
        "GET",
        "http://127.0.0.1/incidents/Q1",
        headers={
            "Authorization": "Token token=t",
            "Accept": "application/vnd.pagerduty+json;version=2",
            "Content-Type": "application/json",
        },
    )
    response = httpx.Response(200, json={"incident": {"id": 5, "status": "bogus"}}, request=request)
    with pytest.raises(ContractViolation):
        SpecChecker.pagerduty(SPECS).check_response(response)
    jira_request = httpx.Request(
        "GET",
        "http://127.0.0.1/rest/api/2/issue/OPS-1",
        headers={"Authorization": "Basic YWRtaW46YWRtaW4="},
    )
    jira_response = httpx.Response(
        200, json={"id": 10000, "key": ["OPS-1"], "fields": {}}, request=jira_request
    )
    with pytest.raises(ContractViolation):
        SpecChecker.jira(SPECS).check_response(jira_response)
