"""PagerDuty-style rules end to end: real NATS, every service its own process, both simulators
(strict contract mode) sending webhooks back to ingest. One rule per section, configured in the
YAML file the way a platform team would (names instead of ids), plus priority sync both ways and
the Jira fallback for JQL the local evaluator cannot answer."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pdjira_common.contracts import AuditRecord
from pdjira_devstack.stack import ACCOUNT, INSTANCE, Stack, StackSettings
from pdjira_devstack.waiting import SimulatorState, wait_until

from .conftest import FAST, running_stack
from .helpers import (
    Quiet,
    add_comment,
    add_note,
    audit_records,
    comments_of,
    notes_of,
    one_issue_for,
    pdjira,
    stored_link,
    transition_issue,
    wait_issue_status,
    wait_link,
)

# Its own stack (PagerDuty-style rules in the config), started once: one xdist worker.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-pagerduty-rules-stack")]

PRIORITY_MAP = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low", "P5": "Lowest"}


def action(key: str) -> dict[str, Any]:
    return {"key": key, "isDisabled": False}


# One rule as it would sit in the YAML file: names instead of ids everywhere.
RULE: dict[str, Any] = {
    "account": ACCOUNT,
    "instance": INSTANCE,
    "priority_map": PRIORITY_MAP,
    "resolution": "Done",
    "rule": {
        "name": "checkout incidents <-> OPS",
        "enabled": True,
        "config": {
            "sync_comments": True,
            "services": [{"summary": "Checkout API"}],
            "projects": [{"key": "OPS"}],
            "issue_types": [{"label": "Task"}, {"label": "Bug"}],
            "autocreate_issues": True,
            "autocreate_issues_config": [
                {
                    "condition": {
                        "pd_events": ["incident.trigger"],
                        "pd_priorities": [{"label": "P1"}, {"label": "P2"}],
                        "pd_urgency": "high",
                    },
                    "actions": [
                        action("jira_field_set_priority"),
                        action("jira_field_set_labels"),
                        action("jira_append_description"),
                    ],
                    "actions_params": {
                        "jira_field_set_priority": {"name": "Highest"},
                        "jira_field_set_labels": [
                            {"key": "pagerduty", "icon": "text"},
                            {"key": "incident.urgency", "icon": "pd"},
                        ],
                        "jira_append_description": [
                            {"key": "incident.html_url", "label": "Incident", "icon": "pd"},
                            {"key": "incident.service.summary", "label": "Service", "icon": "pd"},
                        ],
                    },
                    "target_project": {"key": "OPS"},
                    "target_issue_type": {"label": "Task"},
                },
                {
                    "condition": {"pd_events": ["incident.trigger"], "pd_urgency": "low"},
                    "actions": [action("jira_field_set_priority")],
                    "actions_params": {"jira_field_set_priority": {"name": "Low"}},
                    "target_issue_type": {"label": "Task"},
                },
            ],
            "react_on_incident_event": True,
            "react_on_incident_event_config": [
                {
                    "condition": {"pd_events": ["incident.acknowledge"]},
                    "actions": [action("jira_change_status")],
                    "actions_params": {"jira_change_status": {"label": "In Progress"}},
                },
                {
                    "condition": {"pd_events": ["incident.resolve"]},
                    "actions": [action("jira_change_status")],
                    "actions_params": {"jira_change_status": {"label": "Done"}},
                },
            ],
            "react_on_issue_status_change": True,
            "react_on_issue_status_change_config": [
                {
                    "jira_statuses": [{"label": "In Progress"}],
                    "actions": [action("pd_acknowledge"), action("pd_add_responders")],
                    "actions_params": {
                        "pd_add_responders": [{"id": "PUSER02", "type": "user_reference"}]
                    },
                },
                {"jira_statuses": [{"label": "Done"}], "actions": [action("pd_resolve")]},
                {"jira_statuses": [{"label": "To Do"}], "actions": [action("pd_reopen")]},
            ],
            "autocreate_incidents": True,
            "autocreate_incidents_config": [
                {
                    "jql": 'project = OPS AND issuetype = Bug AND labels = "page-me"',
                    "on_create": True,
                    "on_update": True,
                    "target_service": {"summary": "Checkout API"},
                    "actions": [action("pd_set_priority")],
                    "actions_params": {"pd_set_priority": {"label": "P2"}},
                },
            ],
        },
    },
}

# A second rule whose JQL needs a function the local evaluator does not have: Jira answers.
FALLBACK_RULE: dict[str, Any] = {
    "account": ACCOUNT,
    "instance": INSTANCE,
    "rule": {
        "name": "assigned to the integration user",
        "enabled": True,
        "config": {
            "services": [{"summary": "Checkout API"}],
            "projects": [{"key": "OPS"}],
            "issue_types": [{"label": "Task"}, {"label": "Bug"}],
            "autocreate_incidents": True,
            "autocreate_incidents_config": [
                {
                    "jql": "project = OPS AND assignee = currentUser()",
                    "on_create": True,
                    "on_update": True,
                    "target_service": {"summary": "Checkout API"},
                }
            ],
        },
    },
}


# Would create incidents for issues labelled "typo-rule", but names a status Jira does not have:
# refused once the writers answer, so it never acts.
TYPO_RULE: dict[str, Any] = {
    "rule": {
        "name": "typo rule",
        "enabled": True,
        "config": {
            "services": [{"summary": "Checkout API"}],
            "projects": [{"key": "OPS"}],
            "issue_types": [{"label": "Task"}],
            "autocreate_incidents": True,
            "autocreate_incidents_config": [
                {"jql": "labels = typo-rule", "on_create": True, "on_update": True}
            ],
            "react_on_incident_event": True,
            "react_on_incident_event_config": [
                {
                    "condition": {"pd_events": ["incident.resolve"]},
                    "actions": [action("jira_change_status")],
                    "actions_params": {"jira_change_status": {"label": "Doen"}},
                }
            ],
        },
    },
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = StackSettings(
        **{**FAST.__dict__, "rules": [], "pagerduty_rules": [RULE, FALLBACK_RULE, TYPO_RULE]}
    )
    yield from running_stack(tmp_path_factory, "pdrules", settings)


# ------------------------------------------------------------------------------ helpers


async def trigger(
    http: httpx.AsyncClient, stack: Stack, title: str, *, priority: str | None, urgency: str
) -> dict[str, Any]:
    body: dict[str, Any] = {"title": title, "urgency": urgency, "as_user": "PUSER01"}
    if priority is not None:
        body["priority"] = priority
    response = await http.post(f"{stack.pd_url}/_sim/incidents", json=body)
    response.raise_for_status()
    incident: dict[str, Any] = response.json()["incident"]
    return incident


async def incidents_for_issue(http: httpx.AsyncClient, stack: Stack, key: str) -> list[dict]:
    response = await http.get(f"{stack.pd_url}/_sim/state")
    response.raise_for_status()
    incidents = response.json()["incidents"]
    return [i for i in incidents if i.get("incident_key") == key]


async def jira_create(http: httpx.AsyncClient, stack: Stack, **fields: Any) -> dict[str, Any]:
    response = await http.post(f"{stack.jira_url}/_sim/issues", json={"as_user": "jdoe", **fields})
    response.raise_for_status()
    issue: dict[str, Any] = response.json()
    return issue


async def jira_edit(http: httpx.AsyncClient, stack: Stack, key: str, fields: dict) -> None:
    response = await http.post(
        f"{stack.jira_url}/_sim/issues/{key}/edit", json={"as_user": "jdoe", "fields": fields}
    )
    response.raise_for_status()


async def pd_update(http: httpx.AsyncClient, stack: Stack, incident_id: str, **body: Any) -> None:
    response = await http.post(
        f"{stack.pd_url}/_sim/incidents/{incident_id}/update", json={"as_user": "PUSER01", **body}
    )
    response.raise_for_status()


async def pd_status(http: httpx.AsyncClient, stack: Stack, incident_id: str, status: str) -> None:
    response = await http.post(
        f"{stack.pd_url}/_sim/incidents/{incident_id}/status",
        json={"status": status, "as_user": "PUSER01"},
    )
    response.raise_for_status()


async def wait_incident(
    sims: SimulatorState, incident_id: str, check: Any, what: str
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        incident = await sims.incident(incident_id)
        return incident if check(incident) else None

    found: dict[str, Any] = await wait_until(probe, timeout=30, what=what)
    return found


def priority_name(incident: dict[str, Any]) -> str | None:
    priority = incident.get("priority")
    return None if priority is None else str(priority.get("summary") or priority.get("name"))


# ------------------------------------------------------------------------------ autocreate issues


async def test_autocreate_issue_with_priority_labels_and_description(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident = await trigger(http, stack, "Payments failing", priority="P1", urgency="high")
    issue = await one_issue_for(sims, quiet, incident["id"])
    fields = issue["fields"]
    assert fields["summary"] == "Payments failing"
    assert fields["project"]["key"] == "OPS"
    assert fields["issuetype"]["name"] == "Task"
    assert fields["priority"]["name"] == "Highest"
    assert {"pagerduty", "high"} <= set(fields["labels"])
    assert f"Incident: {incident['html_url']}" in fields["description"]
    assert "Service: Checkout API" in fields["description"]


async def test_second_item_by_urgency_and_audit_explains_the_first(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident = await trigger(http, stack, "Slow search", priority="P3", urgency="low")
    issue = await one_issue_for(sims, quiet, incident["id"])
    assert issue["fields"]["priority"]["name"] == "Low"

    records = await audit_records(stack, f"pd:{ACCOUNT}:{incident['id']}")
    triggered = [r for r in records if r.event_type == "incident.triggered"]
    assert triggered, records
    verdicts = {(v.rule, v.item): v for v in triggered[0].verdicts}
    first = verdicts[("checkout incidents <-> OPS", "autocreate_issues_config[0]")]
    assert not first.matched
    assert "P3" in first.reason, first.reason
    assert "low" in first.reason, first.reason
    assert verdicts[("checkout incidents <-> OPS", "autocreate_issues_config[1]")].matched


async def test_no_item_matches_no_issue(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident = await trigger(http, stack, "Minor blip", priority="P3", urgency="high")
    await quiet()  # the trigger decided, and whatever it caused done
    assert await sims.issues_for_incident(ACCOUNT, incident["id"]) == []
    records = await audit_records(stack, f"pd:{ACCOUNT}:{incident['id']}")
    assert records
    assert not records[0].command_ids
    reasons = " | ".join(v.reason for v in records[0].verdicts)
    assert "P3" in reasons
    # The same explanation for an operator: `pdjira audit show <incident id>`.
    shown = pdjira(stack, "audit", "show", incident["id"])
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "- checkout incidents <-> OPS / autocreate_issues_config[0]: " in shown.stdout
    assert "P3 not in [P1, P2]" in shown.stdout


# ------------------------------------------------------------------------------ reactions


async def test_issue_status_acts_on_the_incident_and_incident_events_move_the_issue(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident = await trigger(http, stack, "Cart errors", priority="P2", urgency="high")
    issue = await one_issue_for(sims, quiet, incident["id"])
    key = issue["key"]
    await wait_link(stack, incident["id"])

    # react_on_issue_status_change: In Progress -> pd_acknowledge + pd_add_responders
    await transition_issue(http, stack, key, "In Progress")

    def has_responder(inc: dict[str, Any]) -> bool:
        targets = [
            t.get("responder_request_target", t).get("id")
            for r in inc.get("responder_requests") or []
            for t in r.get("responder_request_targets", [])
        ]
        return "PUSER02" in targets

    await wait_incident(
        sims,
        incident["id"],
        lambda i: i["status"] == "acknowledged" and has_responder(i),
        "incident acknowledged with PUSER02 requested as responder",
    )
    # Done -> pd_resolve; To Do (Jira's Reopen) -> pd_reopen
    await transition_issue(http, stack, key, "Done")
    await wait_incident(sims, incident["id"], lambda i: i["status"] == "resolved", "resolved")
    await transition_issue(http, stack, key, "To Do")
    await wait_incident(sims, incident["id"], lambda i: i["status"] == "triggered", "reopened")
    await quiet()  # the echoes must not move the issue
    assert (await sims.issue(key))["fields"]["status"]["name"] == "To Do"

    # react_on_incident_event: a person acknowledges in PagerDuty -> In Progress
    await pd_status(http, stack, incident["id"], "acknowledged")
    await wait_issue_status(sims, key, "In Progress")


async def test_acknowledged_before_the_issue_exists_still_moves_it(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    """Per-entity order: an acknowledge right after the trigger (before the issue and its link
    exist) is not dropped; its transition waits for the issue the rule creates."""
    # Jira is slow to answer the create, so the acknowledge is decided before the link exists.
    faults = await http.put(
        f"{stack.jira_url}/_sim/faults",
        json={"response_delay_ms": 2000, "paths": ["/rest/api/2/issue"]},
    )
    faults.raise_for_status()
    try:
        incident = await trigger(http, stack, "Basket totals wrong", priority="P1", urgency="high")
        await pd_status(http, stack, incident["id"], "acknowledged")
        entity = f"pd:{ACCOUNT}:{incident['id']}"

        async def ack_decided() -> list[AuditRecord] | None:
            records = await audit_records(stack, entity)
            return [r for r in records if r.event_type == "incident.acknowledged"] or None

        [decided] = await wait_until(ack_decided, timeout=30, what="the acknowledge decided")
        assert await stored_link(stack, incident["id"]) is None  # decided before the link
        assert decided.command_ids, decided.verdicts
    finally:
        await http.delete(f"{stack.jira_url}/_sim/faults")
    issue = await one_issue_for(sims, quiet, incident["id"])
    await wait_issue_status(sims, issue["key"], "In Progress")


async def test_resolving_in_pagerduty_closes_the_issue(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident = await trigger(http, stack, "Checkout down", priority="P1", urgency="high")
    issue = await one_issue_for(sims, quiet, incident["id"])
    await wait_link(stack, incident["id"])
    await pd_status(http, stack, incident["id"], "resolved")
    await wait_issue_status(sims, issue["key"], "Done")


# -------------------------------------------------------------------------- comments, priority


async def test_notes_and_comments_sync_once_each_with_no_echo(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident = await trigger(http, stack, "Refunds stuck", priority="P2", urgency="high")
    issue = await one_issue_for(sims, quiet, incident["id"])
    await wait_link(stack, incident["id"])

    await add_note(http, stack, incident["id"], "Looking at the refund queue")

    async def comment_bodies() -> list[str]:
        return [c["body"] for c in await comments_of(sims, issue["key"])]

    await wait_until(
        lambda: _contains(comment_bodies, "Looking at the refund queue"), timeout=30, what="comment"
    )
    await add_comment(http, stack, issue["key"], "Queue drained on our side")

    async def note_contents() -> list[str]:
        return [n["content"] for n in await notes_of(http, stack, incident["id"])]

    await wait_until(
        lambda: _contains(note_contents, "Queue drained on our side"), timeout=30, what="note"
    )
    await quiet()
    comments = await comment_bodies()
    notes = await note_contents()
    assert sum("Looking at the refund queue" in c for c in comments) == 1, comments
    assert sum("Queue drained on our side" in n for n in notes) == 1, notes
    assert len(comments) == 2, comments
    assert len(notes) == 2, notes


async def _contains(probe: Any, text: str) -> bool:
    return any(text in value for value in await probe())


async def test_priority_only_changes_sync_both_ways(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    incident = await trigger(http, stack, "Latency up", priority="P2", urgency="high")
    issue = await one_issue_for(sims, quiet, incident["id"])
    await wait_link(stack, incident["id"])

    # PagerDuty -> Jira: P4 maps to Low.
    await pd_update(http, stack, incident["id"], priority="P4")

    async def jira_priority() -> str:
        return str((await sims.issue(issue["key"]))["fields"]["priority"]["name"])

    async def jira_is(name: str) -> bool:
        return await jira_priority() == name

    await wait_until(lambda: jira_is("Low"), timeout=30, what="Jira priority Low")

    # Jira -> PagerDuty: Lowest maps back to P5.
    await jira_edit(http, stack, issue["key"], {"priority": {"name": "Lowest"}})
    await wait_incident(
        sims, incident["id"], lambda i: priority_name(i) == "P5", "PagerDuty priority P5"
    )
    # No ping-pong: both sides stay where the people put them.
    await quiet()
    assert await jira_priority() == "Lowest"
    assert priority_name(await sims.incident(incident["id"])) == "P5"


# ------------------------------------------------------------------------ autocreate incidents


async def test_jql_match_creates_one_incident_even_when_updates_match_again(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    issue = await jira_create(
        http, stack, issuetype="Bug", summary="Card declined for everyone", labels=["page-me"]
    )
    key = issue["key"]

    async def one() -> list[dict] | None:
        return await incidents_for_issue(http, stack, key) or None

    incidents = await wait_until(one, timeout=30, what=f"an incident for {key}")
    incident = incidents[0]
    assert incident["service"]["id"] == "PSVC001"
    assert key in incident["title"]
    await wait_incident(sims, incident["id"], lambda i: priority_name(i) == "P2", "priority P2")

    # An update that still matches the JQL must not create a second incident.
    await jira_edit(http, stack, key, {"summary": "Card declined for everyone (EU too)"})
    await quiet()
    assert len(await incidents_for_issue(http, stack, key)) == 1


async def test_unsupported_jql_function_is_answered_by_jira(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, quiet: Quiet
) -> None:
    await http.delete(f"{stack.jira_url}/_sim/requests")
    issue = await jira_create(http, stack, issuetype="Task", summary="Rotate the TLS certificate")
    key = issue["key"]
    await quiet()
    assert await incidents_for_issue(http, stack, key) == []  # not assigned to pdjira yet

    await jira_edit(http, stack, key, {"assignee": {"name": "pdjira"}})

    async def one() -> list[dict] | None:
        return await incidents_for_issue(http, stack, key) or None

    await wait_until(one, timeout=30, what=f"an incident for {key} via the Jira fallback")
    searches = [r for r in await sims.jira_requests() if r["path"] == "/rest/api/2/search"]
    assert searches, "the rules service never asked Jira's search"
    issue_id = str(issue["id"])
    records = await audit_records(stack, f"jira:{INSTANCE}:{issue_id}")
    matched = [
        v
        for r in records
        for v in r.verdicts
        if v.matched and v.rule == "assigned to the integration user"
    ]
    assert matched, [v for r in records for v in r.verdicts]
    assert "Jira" in matched[0].reason, matched[0].reason


# ------------------------------------------------------------------------ rules API and CLI, live


def rules_api(stack: Stack) -> tuple[str, dict[str, str]]:
    return f"{stack.rules_url}/rules", {"Authorization": f"Bearer {stack.env['RULES_ADMIN_TOKEN']}"}


async def test_bad_status_is_refused_with_the_real_statuses(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    url, auth = rules_api(stack)
    bad = copy.deepcopy(RULE)
    bad["rule"]["name"] = "typo"
    reaction = bad["rule"]["config"]["react_on_incident_event_config"][0]
    reaction["actions_params"]["jira_change_status"] = {"label": "In Progrss"}
    response = await http.post(url, json=bad, headers=auth)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"] == "Invalid Input Provided"
    [problem] = error["errors"]
    assert "jira_change_status" in problem
    assert "'In Progrss' does not exist" in problem
    for real in ("To Do", "In Progress", "Done"):  # what the Jira simulator really has
        assert real in problem.split("statuses:")[1], problem
    listed = (await http.get(url, headers=auth)).json()["rules"]
    assert "typo" not in [r["name"] for r in listed]


def test_cli_validates_the_config_file_against_the_live_systems(
    stack: Stack, tmp_path: Path
) -> None:
    checked = pdjira(stack, "rules", "validate", str(stack.config_path))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    [problem] = [line for line in checked.stdout.splitlines() if line.startswith("$.")]
    assert problem.startswith(
        "$.pagerduty_rules[2].rule.config.react_on_incident_event_config[0]"
        ".actions_params.jira_change_status"
    ), problem
    assert "status 'Doen' does not exist" in problem

    good = tmp_path / "rules.yaml"
    good.write_text(yaml.safe_dump({"pagerduty_rules": [RULE, FALLBACK_RULE]}))
    ok = pdjira(stack, "rules", "validate", str(good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 rules OK" in ok.stdout

    bad = copy.deepcopy(RULE)
    bad["rule"]["config"]["issue_types"] = [{"label": "Stroy"}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"pagerduty_rules": [bad]}))
    failed = pdjira(stack, "rules", "validate", str(path))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "$.pagerduty_rules[0].rule.config.issue_types[0]" in failed.stdout
    assert "issue type 'Stroy' does not exist" in failed.stdout
    assert "Task" in failed.stdout


async def test_config_rule_with_a_missing_status_is_refused_and_never_acts(
    stack: Stack, http: httpx.AsyncClient, quiet: Quiet
) -> None:
    log = stack.logs / "rules.log"

    def refusal_logged() -> bool:
        text = log.read_text()
        return "config_rule_refused" in text and "status 'Doen' does not exist" in text

    async def logged() -> bool:
        return refusal_logged()

    await wait_until(logged, timeout=30, what="the refusal in the rules service's log")
    issue = await jira_create(http, stack, summary="Would page if applied", labels=["typo-rule"])
    await quiet()
    assert await incidents_for_issue(http, stack, issue["key"]) == []


async def test_rule_added_over_the_api_takes_effect_without_restart_and_deletion_too(
    stack: Stack, http: httpx.AsyncClient, quiet: Quiet
) -> None:
    url, auth = rules_api(stack)
    added = {
        "rule": {
            "name": "api: page on label",
            "enabled": True,
            "config": {
                "services": [{"id": "PSVC001", "type": "service_reference"}],
                "projects": [{"id": "10000", "key": "OPS"}],
                "issue_types": [{"id": "10002", "label": "Task"}],
                "autocreate_incidents": True,
                "autocreate_incidents_config": [
                    {"jql": "labels = api-rule", "on_create": True, "on_update": False}
                ],
            },
        }
    }
    response = await http.post(url, json=added, headers=auth)
    assert response.status_code == 200, response.text
    rule_id = response.json()["rule"]["id"]

    first = await jira_create(http, stack, summary="Queue backlog", labels=["api-rule"])

    async def incident_for(key: str) -> list[dict] | None:
        return await incidents_for_issue(http, stack, key) or None

    await wait_until(lambda: incident_for(first["key"]), timeout=30, what="incident via API rule")

    # The replica that served the DELETE applies it before answering (read-your-writes).
    assert (await http.delete(f"{url}/{rule_id}", headers=auth)).status_code == 204
    second = await jira_create(http, stack, summary="Queue backlog again", labels=["api-rule"])
    await quiet()
    assert await incidents_for_issue(http, stack, second["key"]) == []


async def test_a_refused_rule_is_listed_as_refused_and_named_where_it_would_have_applied(
    stack: Stack, http: httpx.AsyncClient, quiet: Quiet
) -> None:
    async def refused() -> str | None:
        listed = pdjira(stack, "rules", "list")
        return listed.stdout if "refused" in listed.stdout else None

    out = await wait_until(refused, timeout=30, what="`rules list` to show the refused rule")
    lines = out.splitlines()
    [typo] = [i for i, line in enumerate(lines) if line.endswith("  typo rule")]
    assert "  refused   pagerduty  $.pagerduty_rules[2]  " in lines[typo], lines[typo]
    assert lines[typo + 1].startswith("    refused: $.pagerduty_rules[2].rule.config.")
    assert "status 'Doen' does not exist" in lines[typo + 1]
    assert any(" active    pagerduty  $.pagerduty_rules[0]  " in line for line in lines), out

    # An issue in the refused rule's project: its trace names the rule and why it did not act.
    issue = await jira_create(http, stack, summary="Would page if applied", labels=["typo-rule"])
    await quiet()
    shown = pdjira(stack, "trace", issue["key"])
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "1 rule(s) refused at load would have applied: typo rule" in shown.stdout
    assert "      - typo rule: refused at load: $.pagerduty_rules[2].rule.config." in shown.stdout
    assert "status 'Doen' does not exist" in shown.stdout
