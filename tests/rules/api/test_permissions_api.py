"""`rules validate` and `GET /rules/permissions` check the Jira permissions the rules need,
through the jira-writer's health read (here the fake writers)."""

from __future__ import annotations

from typing import Any

from .conftest import AUTH, Api, FakeWriters
from .test_loading import pd_rule

MOVES = {
    "react_on_incident_event": True,
    "react_on_incident_event_config": [
        {
            "condition": {"pd_events": ["incident.resolve"]},
            "actions": [
                {"key": "jira_field_set_labels"},
                {"key": "jira_change_status"},
            ],
            "actions_params": {
                "jira_change_status": {"id": "10001", "label": "Done"},
                "jira_field_set_labels": [{"label": "x", "icon": "text", "key": "paged"}],
            },
        }
    ],
}


def mover(name: str = "Mover") -> dict[str, Any]:
    return {"rule": pd_rule(name, **MOVES)}


async def test_validate_reports_a_missing_transition_permission(
    api: Api, writers: FakeWriters
) -> None:
    ok = await api.http.post("/rules/validate", json={"rules": [mover()]}, headers=AUTH)
    assert ok.json() == {"problems": []}
    writers.lacking = {("OPS", "TRANSITION_ISSUES")}
    response = await api.http.post("/rules/validate", json={"rules": [mover()]}, headers=AUTH)
    assert response.status_code == 200, response.text
    [problem] = response.json()["problems"]
    assert problem["path"] == "$.rule.config.react_on_incident_event_config[0].actions[1]"
    message = problem["message"]
    assert message.startswith(
        "rule 'Mover' moves issues in OPS (jira_change_status) but the integration user "
        "'pdjira' lacks Transition Issues in OPS: grant it in the project's permission scheme"
    )


async def test_permissions_route_lists_every_check_of_enabled_rules(
    api: Api, writers: FakeWriters
) -> None:
    created = await api.http.post("/rules", json=mover(), headers=AUTH)
    assert created.status_code == 200, created.text
    writers.lacking = {("OPS", "EDIT_ISSUES")}
    response = await api.http.get("/rules/permissions", headers=AUTH)
    assert response.status_code == 200, response.text
    checks = {c["check"]: c for c in response.json()["checks"]}
    assert set(checks) == {"BROWSE_PROJECTS", "EDIT_ISSUES", "TRANSITION_ISSUES"}
    assert checks["TRANSITION_ISSUES"]["ok"] is True
    assert checks["EDIT_ISSUES"]["ok"] is False
    assert checks["EDIT_ISSUES"]["rules"] == ["Mover"]
    assert "lacks Edit Issues in OPS" in checks["EDIT_ISSUES"]["message"]
    assert all(c["instance"] == "dc1" and c["project"] == "OPS" for c in checks.values())
