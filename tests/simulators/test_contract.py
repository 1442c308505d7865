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
        "vendor OpenAPI specs not found: they belong in specs/ of the checkout"
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
    other = await client.post(
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
    await client.get(
        "/incidents",
        params={"since": "2020-01-01T00:00:00Z", "until": "2020-02-01T00:00:00Z"},
    )
    await client.post(f"/incidents/{incident_id}/status_updates", json={"message": "fixing"})
    open_id = other.json()["incident"]["id"]
    await client.post(
        f"/incidents/{open_id}/responder_requests",
        json={
            "requester_id": "PUSER02",
            "message": "help",
            "responder_request_targets": [
                {"responder_request_target": {"id": "PUSER01", "type": "user_reference"}}
            ],
        },
    )
    entries = await client.get(f"/incidents/{incident_id}/log_entries")
    await client.get(f"/log_entries/{entries.json()['log_entries'][0]['id']}")
    await client.get("/log_entries", params={"is_overview": "true"})
    await client.get(f"/incidents/{open_id}")  # now with incidents_responders
    assert [r.status_code for r in recorder.responses][15:] == [200] * 7
    assert [r.status_code for r in recorder.responses][:15] == [
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
        "/mypermissions",
    ):
        await client.get(path)
    await client.get("/user/search", params={"username": "jdoe"})
    await client.get("/issue/createmeta/OPS/issuetypes")
    await client.get("/issue/createmeta/OPS/issuetypes/10005")
    await client.put(f"/issue/{key}/properties/pagerduty", json={"incident": "Q1"})
    await client.get(f"/issue/{key}/properties/pagerduty")
    link = {"globalId": "pd:Q1", "object": {"url": "https://pd.example/Q1", "title": "Q1"}}
    assert (await client.post(f"/issue/{key}/remotelink", json=link)).status_code == 201
    assert (await client.post(f"/issue/{key}/remotelink", json=link)).status_code == 200
    await client.get(f"/issue/{key}/remotelink")
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


def test_tolerated_document_defects_do_not_hide_real_errors() -> None:
    """The oneOf tolerance (undiscriminated Channel) still rejects a wrong log entry type."""
    assert SPECS is not None
    request = httpx.Request(
        "GET",
        "http://127.0.0.1/log_entries/R1",
        headers={"Authorization": "Token token=t", "Content-Type": "application/json"},
    )
    entry: dict[str, Any] = {
        "id": "R1",
        "type": "acknowledge_log_entry",
        "created_at": "2026-01-01T00:00:00Z",
        "channel": {"type": "api"},
    }
    checker = SpecChecker.pagerduty(SPECS)
    checker.check_response(httpx.Response(200, json={"log_entry": entry}, request=request))
    for broken in ({**entry, "type": "bogus_log_entry"}, {**entry, "created_at": 5}):
        with pytest.raises(ContractViolation):
            checker.check_response(httpx.Response(200, json={"log_entry": broken}, request=request))
