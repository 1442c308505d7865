"""PagerDuty's example rules, read from the vendored integration-jira-service spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pdjira_rules.rule_validation import JiraCatalog, JiraProject, Named, PdCatalog
from pdjira_simulators.contract import find_specs_dir

SPEC = "pagerduty/reference/integration-jira-service/openapiv3.json"


def spec_path() -> Path:
    specs = find_specs_dir()
    # Fail, not skip: without the spec these tests would prove nothing.
    assert specs is not None, "vendor specs not found: they belong in specs/ of the checkout"
    return specs / SPEC


def example_rules() -> list[tuple[str, dict[str, Any]]]:
    """(where, rule) for every rule in the spec's request and response examples."""
    spec = json.loads(spec_path().read_text())
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if where.endswith("/value"):
                if isinstance(node.get("rule"), dict):
                    found.append((where, node["rule"]))
                for i, rule in enumerate(node.get("rules") or []):
                    found.append((f"{where}/rules/{i}", rule))
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(spec["paths"], "paths")
    return found


def catalogs_from(rule: dict[str, Any]) -> tuple[JiraCatalog, PdCatalog]:
    """Catalogs holding exactly what the example rule refers to (sorted by name)."""
    config = rule["config"]
    statuses: dict[str, str] = {}
    jira_priorities: dict[str, str] = {}
    pd_priorities: dict[str, str] = {}
    users: dict[str, tuple[str, str]] = {}
    items = [
        item
        for section in (
            "autocreate_issues_config",
            "autocreate_incidents_config",
            "react_on_incident_event_config",
            "react_on_issue_status_change_config",
        )
        for item in config.get(section, [])
    ]
    for item in items:
        for status in item.get("jira_statuses", []):
            statuses[status["id"]] = status["label"]
        params = item.get("actions_params", {})
        if "jira_change_status" in params:
            statuses[params["jira_change_status"]["id"]] = params["jira_change_status"]["label"]
        if "jira_field_set_priority" in params:
            p = params["jira_field_set_priority"]
            jira_priorities[p["id"]] = p["name"]
        if "pd_set_priority" in params:
            pd_priorities[params["pd_set_priority"]["id"]] = params["pd_set_priority"]["label"]
        for p in item.get("condition", {}).get("pd_priorities", []):
            pd_priorities[p["id"]] = p["label"]
        for user in params.get("pd_add_responders", []):
            users[user["id"]] = (user["label"], user["email"])

    def named(entries: dict[str, str]) -> tuple[Named, ...]:
        return tuple(sorted((Named(id=i, name=n) for i, n in entries.items()), key=_name))

    jira = JiraCatalog(
        statuses=named(statuses),
        priorities=named(jira_priorities),
        projects=tuple(
            JiraProject(id=p["id"], key=p["key"], name=p["label"]) for p in config["projects"]
        ),
        issue_types=tuple(Named(id=t["id"], name=t["label"]) for t in config["issue_types"]),
    )
    pd = PdCatalog(
        services=tuple(Named(id=s["id"], name=s.get("label", s["id"])) for s in config["services"]),
        priorities=named(pd_priorities),
        users=tuple(Named(id=i, name=n, key=email) for i, (n, email) in users.items()),
    )
    return jira, pd


def _name(entry: Named) -> str:
    return entry.name
