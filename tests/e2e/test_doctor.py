"""`pdjira doctor` and `pdjira rules validate` against the live stack: a project whose scheme
lacks Transition Issues for the integration user, and a Jira Service Management project whose
"Service Desk Team" role lacks it, are reported by both (exit 1, the permission, project, rule
and fix named); restored, both say OK. Runs on the shared stack and restores what it breaks."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pdjira_devstack.stack import ACCOUNT, INSTANCE, JIRA_USER, Stack

from .conftest import SHARED_STACK
from .helpers import pdjira

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group(SHARED_STACK)]

TEAM = "Service Desk Team"
DESK_RULE: dict[str, Any] = {
    "account": ACCOUNT,
    "instance": INSTANCE,
    "rule": {
        "name": "help desk notes",
        "enabled": True,
        "config": {
            "sync_comments": True,
            "services": [{"summary": "Checkout API"}],
            "projects": [{"key": "HELP"}],
            "issue_types": [{"label": "Task"}],
        },
    },
}


def failures(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("FAIL")]


@pytest.fixture
def jira(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.jira_url, timeout=10.0) as client:
        yield client
        # Whatever a test took away, the next one finds it back.
        client.delete("/_sim/projects/OPS/permissions")
        client.post(f"/_sim/projects/HELP/roles/{TEAM}/actors", json={"user": JIRA_USER})


@pytest.fixture
def desk_rule(stack: Stack) -> Iterator[str]:
    """A rule on the service desk project, imported over the API (so in effect)."""
    auth = {"Authorization": f"Bearer {stack.env['RULES_ADMIN_TOKEN']}"}
    with httpx.Client(base_url=stack.rules_url, headers=auth, timeout=60.0) as rules:
        created = rules.post("/rules", json=DESK_RULE)
        assert created.status_code == 200, created.text
        rule_id: str = created.json()["rule"]["id"]
        try:
            yield rule_id
        finally:
            assert rules.delete(f"/rules/{rule_id}").status_code == 204


def test_doctor_is_all_ok_on_a_healthy_stack(stack: Stack, jira: httpx.Client) -> None:
    result = pdjira(stack, "doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"ok    jira {INSTANCE}: credentials: logged in as '{JIRA_USER}'" in out
    assert "version: Jira 10.3.4" in out
    assert "means http://; write https:// if Jira is served over TLS)" in out
    assert f"ok    pagerduty {ACCOUNT}: From user: pdjira-bot@example.com" in out
    assert "TRANSITION_ISSUES: Transition Issues in OPS: held by 'pdjira'" in out
    as_json = pdjira(stack, "doctor", "--json")
    body = json.loads(as_json.stdout)
    assert body["exit"] == 0
    assert all(c["ok"] for c in body["checks"])


def test_missing_transition_permission_is_reported_by_doctor_and_validate(
    stack: Stack, jira: httpx.Client
) -> None:
    revoked = jira.delete("/_sim/projects/OPS/permissions/TRANSITION_ISSUES")
    assert revoked.status_code == 200, revoked.text
    expected = (
        "rule 'checkout-to-ops' moves issues in OPS (jira_change_status) but the integration "
        f"user '{JIRA_USER}' lacks Transition Issues in OPS: grant it in the project's "
        "permission scheme"
    )
    doctor = pdjira(stack, "doctor")
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    [line] = failures(doctor)
    assert line.startswith(f"FAIL  jira {INSTANCE} OPS: TRANSITION_ISSUES: {expected}"), line
    validate = pdjira(stack, "rules", "validate", str(stack.config_path))
    assert validate.returncode == 1, validate.stdout + validate.stderr
    [problem] = validate.stdout.splitlines()
    assert problem.startswith("$.rules[0]"), problem
    assert expected in problem

    jira.delete("/_sim/projects/OPS/permissions")  # restored: both say OK
    assert pdjira(stack, "doctor").returncode == 0
    validate = pdjira(stack, "rules", "validate", str(stack.config_path))
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "rules OK" in validate.stdout


def test_service_desk_without_the_integration_user_as_agent_is_reported(
    stack: Stack, jira: httpx.Client, desk_rule: str, tmp_path: Path
) -> None:
    rules_file = tmp_path / "desk.yaml"
    rules_file.write_text(yaml.safe_dump({"pagerduty_rules": [DESK_RULE]}))
    assert pdjira(stack, "doctor").returncode == 0
    assert pdjira(stack, "rules", "validate", str(rules_file)).returncode == 0

    removed = jira.delete(f"/_sim/projects/HELP/roles/{TEAM}/actors", params={"user": JIRA_USER})
    assert removed.status_code == 200, removed.text
    expected = (
        f"HELP is a Jira Service Management project and the integration user '{JIRA_USER}' is "
        f"not in its '{TEAM}' role"
    )
    doctor = pdjira(stack, "doctor")
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    [line] = failures(doctor)  # a customer may still browse and comment: only the role fails
    assert line.startswith(f"FAIL  jira {INSTANCE} HELP: SERVICE_DESK: {expected}"), line
    assert "add it to the role" in line
    assert "rule 'help desk notes'" in line
    validate = pdjira(stack, "rules", "validate", str(rules_file))
    assert validate.returncode == 1, validate.stdout + validate.stderr
    [problem] = validate.stdout.splitlines()
    assert problem.startswith("$.pagerduty_rules[0].rule.config.projects[0]: "), problem
    assert expected in problem

    jira.post(f"/_sim/projects/HELP/roles/{TEAM}/actors", json={"user": JIRA_USER})
    assert pdjira(stack, "doctor").returncode == 0
    assert pdjira(stack, "rules", "validate", str(rules_file)).returncode == 0
