"""Contract mode: the simulators validate every REST request they receive (and their own
answers) against the vendor OpenAPI documents, so the traffic of pdjira's writers is checked
wherever the simulators run with `--check-contract`."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pdjira_simulators.common.contract_mode import (
    ContractMiddleware,
    ContractMonitor,
    contract_mode_from_env,
)
from pdjira_simulators.contract import SpecChecker, find_specs_dir
from pdjira_simulators.jira import JiraSettings
from pdjira_simulators.jira import create_app as create_jira
from pdjira_simulators.pagerduty import PagerDutySettings
from pdjira_simulators.pagerduty import create_app as create_pd
from pdjira_simulators.testing import running_server

# What the PagerDuty writer sends (services/pd-writer: pd_client.py).
PD_HEADERS = {
    "Accept": "application/vnd.pagerduty+json;version=2",
    "Authorization": "Token token=t",
}
FROM = {"From": "pdjira-bot@example.com"}
# What the Jira writer sends (services/jira-writer: jira_client.py).
JIRA_HEADERS = {"Accept": "application/json", "X-Atlassian-Token": "no-check"}
ISSUE_FIELDS = "status,labels"


async def violations(admin: httpx.AsyncClient) -> list[dict[str, Any]]:
    body = (await admin.get("/_sim/contract-violations")).json()
    assert body["enabled"] is True
    found: list[dict[str, Any]] = body["violations"]
    return found


@pytest.fixture
async def pd_sim() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    app = create_pd(PagerDutySettings(token="t", seed=2, check_contract=True))
    async with (
        running_server(app) as base,
        httpx.AsyncClient(base_url=base, headers=PD_HEADERS, trust_env=False) as client,
        httpx.AsyncClient(base_url=base, trust_env=False) as admin,
    ):
        yield client, admin


@pytest.fixture
async def jira_sim() -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    app = create_jira(JiraSettings(seed=2, token="pat", check_contract=True))
    async with (
        running_server(app) as base,
        httpx.AsyncClient(
            base_url=base, headers=JIRA_HEADERS, auth=("admin", "admin"), trust_env=False
        ) as client,
        httpx.AsyncClient(base_url=base, trust_env=False) as admin,
    ):
        yield client, admin


async def test_pd_writer_traffic_passes_the_contract(
    pd_sim: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    client, admin = pd_sim
    incident = (await admin.post("/_sim/incidents", json={"title": "Disk full"})).json()
    incident_id = incident["incident"]["id"]
    responses = [
        await client.get(f"/incidents/{incident_id}"),
        await client.put(
            f"/incidents/{incident_id}",
            json={"incident": {"type": "incident_reference", "status": "acknowledged"}},
            headers=FROM,
        ),
        await client.post(
            f"/incidents/{incident_id}/notes",
            json={"note": {"content": "Jira OPS-1 moved to In Progress"}},
            headers=FROM,
        ),
        await client.get("/users/PUSER01"),
        await client.get("/users", params={"query": "pat@example.com", "limit": "100"}),
        await client.get("/incidents", params={"statuses[]": ["acknowledged"], "limit": 10}),
        await client.get("/incidents/QNOTTHERE"),  # a 404 is a documented answer too
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 200, 404]
    assert await violations(admin) == []
    state = (await admin.get("/_sim/contract-violations")).json()
    assert state["checked"] == len(responses)  # the admin call was not checked
    assert state["strict"] is False


async def test_pd_wrong_request_is_reported(
    pd_sim: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    client, admin = pd_sim
    incident = (await admin.post("/_sim/incidents", json={"title": "Disk full"})).json()
    incident_id = incident["incident"]["id"]
    # `type` is required by the document; without it the simulator answers 400 as well.
    resp = await client.put(
        f"/incidents/{incident_id}", json={"incident": {"status": "resolved"}}, headers=FROM
    )
    assert resp.status_code == 400  # recorded only: the vendor's own answer is kept
    [violation] = await violations(admin)
    assert violation["method"] == "PUT"
    assert violation["path"] == f"/incidents/{incident_id}"
    assert violation["kind"] == "request"
    assert "type" in violation["message"]
    cleared = (await admin.delete("/_sim/contract-violations")).json()
    assert cleared["violations"] == []
    await client.get("/no_such_endpoint")
    [unknown] = await violations(admin)
    assert unknown["kind"] == "request"
    assert "not found" in unknown["message"].lower()


async def test_jira_writer_traffic_passes_the_contract(
    jira_sim: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    client, admin = jira_sim
    created = await client.post(
        "/rest/api/2/issue",
        json={
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Incident"},
                "summary": "[PD] Disk full",
                "description": "PagerDuty incident Q1",
                "priority": {"name": "High"},
                "labels": ["pagerduty", "pd-Q1"],
            },
            "properties": [{"key": "pagerduty", "value": {"incident_id": "Q1"}}],
        },
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    api = "/rest/api/2"
    responses = [
        await client.get(f"{api}/issue/{key}", params={"fields": ISSUE_FIELDS}),
        await client.get(f"{api}/search", params={"jql": f"key = {key}"}),
        await client.post(
            f"{api}/search",
            json={"jql": "labels = pd-Q1", "maxResults": 10, "fields": ISSUE_FIELDS.split(",")},
        ),
        await client.get(f"{api}/issue/{key}/transitions", params={"expand": "transitions.fields"}),
        await client.post(
            f"{api}/issue/{key}/transitions",
            json={"transition": {"id": "21"}, "fields": {"resolution": {"name": "Done"}}},
        ),
        await client.post(f"{api}/issue/{key}/comment", json={"body": "Resolved in PagerDuty"}),
        await client.get(f"{api}/status"),
        await client.get(f"{api}/priority"),
        await client.get(
            f"{api}/issue/createmeta/OPS/issuetypes/10005", params={"maxResults": "1000"}
        ),
        await client.get(f"{api}/user/search", params={"username": "jdoe"}),
        # A personal access token instead of basic auth (Jira DC; the document lists basic).
        await client.get(
            "/rest/api/latest/myself", auth=None, headers={"Authorization": "Bearer pat"}
        ),
    ]
    assert [r.status_code for r in responses] == [200] * 4 + [204, 201] + [200] * 5
    assert await violations(admin) == []
    # Jira's 401s and CAPTCHA 403s are answers any operation may give: no violation.
    for _ in range(3):
        await client.get(f"{api}/myself", auth=("jdoe", "wrong"))
    assert (await client.get(f"{api}/myself", auth=("jdoe", "jdoe"))).status_code == 403
    assert await violations(admin) == []
    # The registration REST modules are not in the document and are not checked.
    hooks = await client.get("/rest/webhooks/1.0/webhook")
    assert hooks.status_code == 200
    assert await violations(admin) == []


async def test_jira_wrong_request_is_reported(
    jira_sim: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    client, admin = jira_sim
    key = (await admin.post("/_sim/issues", json={"summary": "x"})).json()["key"]
    # A transition body without `transition` (the document marks nothing required, Jira does).
    resp = await client.post(
        f"/rest/api/2/issue/{key}/transitions", json={"fields": {"resolution": {"name": "Done"}}}
    )
    assert resp.status_code == 400
    # A comment whose body is not a string (the document's CommentJsonBean).
    bad_comment = await client.post(f"/rest/api/2/issue/{key}/comment", json={"body": {"t": 1}})
    assert bad_comment.status_code == 400
    found = await violations(admin)
    assert [(v["method"], v["path"], v["kind"]) for v in found] == [
        ("POST", f"/rest/api/2/issue/{key}/transitions", "request"),
        ("POST", f"/rest/api/2/issue/{key}/comment", "request"),
    ]
    assert "transition" in found[0]["message"]
    assert "body" in found[1]["message"]
    assert "is not of type 'string'" in found[1]["message"]


async def test_a_wrong_response_is_reported() -> None:
    """The response check is live too: a simulator answer off the document is caught."""
    specs = find_specs_dir()
    assert specs is not None
    monitor = ContractMonitor(SpecChecker.jira(specs))

    async def broken_myself(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"name": 5, "active": "yes"}'})

    checked = ContractMiddleware(broken_myself, monitor=monitor, error_body=str.encode)
    auth = {"Authorization": "Basic " + base64.b64encode(b"admin:admin").decode()}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=checked), base_url="http://sim", headers=auth
    ) as direct:
        lenient = await direct.get("/rest/api/2/myself")
        assert lenient.status_code == 200
        [violation] = monitor.violations()
        assert (violation.kind, violation.status) == ("response", 200)
        assert "name" in violation.message
        monitor.strict = True
        strict = await direct.get("/rest/api/2/myself")
    assert strict.status_code == 500
    assert strict.headers["x-sim-contract-violation"] == "response"
    assert "violates the spec" in strict.text


async def test_strict_mode_rejects_before_handling() -> None:
    app = create_pd(PagerDutySettings(token="t", seed=2, contract_strict=True))
    async with (
        running_server(app) as base,
        httpx.AsyncClient(base_url=base, headers=PD_HEADERS, trust_env=False) as client,
    ):
        incident = (await client.post(f"{base}/_sim/incidents", json={"title": "x"})).json()
        incident_id = incident["incident"]["id"]
        bad = await client.put(
            f"/incidents/{incident_id}",
            json={"incident": {"status": "acknowledged"}},
            headers=FROM,
        )
        assert bad.status_code == 500
        assert bad.headers["x-sim-contract-violation"] == "request"
        error = bad.json()["error"]
        assert error["message"] == "Simulator contract check failed"
        assert "type" in error["errors"][0]
        current = (await client.get(f"/incidents/{incident_id}")).json()["incident"]
        assert current["status"] == "triggered"  # the bad request was not handled
        good = await client.put(
            f"/incidents/{incident_id}",
            json={"incident": {"type": "incident_reference", "status": "acknowledged"}},
            headers=FROM,
        )
        assert good.status_code == 200
        # The vendor's own gateway answers (401, 429) are documented or generic: no 500.
        assert (await client.get("/incidents", headers={"Authorization": "x"})).status_code == 401
        log = (await client.get("/_sim/contract-violations")).json()
        assert log["strict"] is True
        assert [v["kind"] for v in log["violations"]] == ["request"]


async def test_contract_mode_is_off_by_default() -> None:
    app = create_pd(PagerDutySettings(token="t"))
    async with (
        running_server(app) as base,
        httpx.AsyncClient(base_url=base, headers=PD_HEADERS, trust_env=False) as client,
    ):
        await client.put("/incidents/X", json={"incident": {}}, headers=FROM)
        off = (await client.get("/_sim/contract-violations")).json()
    assert off == {"enabled": False, "strict": False, "checked": 0, "violations": []}


def test_env_var_and_spec_lookup(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    assert contract_mode_from_env({"PDJIRA_SIM_CHECK_CONTRACT": "1"}) == (True, False)
    assert contract_mode_from_env({"PDJIRA_SIM_CHECK_CONTRACT": "strict"}) == (True, True)
    assert contract_mode_from_env({"PDJIRA_SIM_CHECK_CONTRACT": "0"}) == (False, False)
    assert contract_mode_from_env({}) == (False, False)
    real = find_specs_dir()
    assert real is not None
    monkeypatch.setenv("PDJIRA_SPECS_DIR", str(real))
    assert find_specs_dir() == real
    monkeypatch.setenv("PDJIRA_SPECS_DIR", str(tmp_path / "missing"))
    assert find_specs_dir() is None
    with pytest.raises(RuntimeError, match="PDJIRA_SPECS_DIR"):
        create_pd(PagerDutySettings(check_contract=True))
    monkeypatch.delenv("PDJIRA_SPECS_DIR")
    # From a folder inside a checkout: its specs/ folder.
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "specs").symlink_to(real)
    (tmp_path / "repo" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "repo" / "sub")
    assert find_specs_dir(tmp_path / "repo" / "sub") == tmp_path / "repo" / "specs"
