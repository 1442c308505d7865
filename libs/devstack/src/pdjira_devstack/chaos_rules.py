"""The rule of the chaos run (PagerDuty's rule shape, names instead of ids): every incident of
Checkout API gets an issue in OPS, status follows both ways (a Jira reopen reopens the incident),
notes and comments sync, and every OPS issue labelled ``page-me`` gets an incident."""

from __future__ import annotations

from typing import Any

from pdjira_devstack.chaos_people import LABEL
from pdjira_devstack.stack import ACCOUNT, INSTANCE

__all__ = ["CHAOS_RULE", "JQL"]

JQL = f'project = OPS AND labels = "{LABEL}"'


def _action(key: str) -> dict[str, Any]:
    return {"key": key, "isDisabled": False}


def _move(event: str, status: str) -> dict[str, Any]:
    return {
        "condition": {"pd_events": [event]},
        "actions": [_action("jira_change_status")],
        "actions_params": {"jira_change_status": {"label": status}},
    }


CHAOS_RULE: dict[str, Any] = {
    "account": ACCOUNT,
    "instance": INSTANCE,
    "resolution": "Done",
    "rule": {
        "name": "chaos: Checkout API <-> OPS",
        "enabled": True,
        "config": {
            "sync_comments": True,
            "services": [{"summary": "Checkout API"}],
            "projects": [{"key": "OPS"}],
            "issue_types": [{"label": "Task"}],
            "autocreate_issues": True,
            "autocreate_issues_config": [
                {
                    "condition": {"pd_events": ["incident.trigger"]},
                    "target_project": {"key": "OPS"},
                    "target_issue_type": {"label": "Task"},
                }
            ],
            "react_on_incident_event": True,
            "react_on_incident_event_config": [
                _move("incident.acknowledge", "In Progress"),
                _move("incident.resolve", "Done"),
            ],
            "react_on_issue_status_change": True,
            "react_on_issue_status_change_config": [
                {
                    "jira_statuses": [{"label": "In Progress"}],
                    "actions": [_action("pd_acknowledge")],
                },
                {"jira_statuses": [{"label": "Done"}], "actions": [_action("pd_resolve")]},
                {"jira_statuses": [{"label": "To Do"}], "actions": [_action("pd_reopen")]},
            ],
            "autocreate_incidents": True,
            "autocreate_incidents_config": [
                {
                    "jql": JQL,
                    "on_create": True,
                    "on_update": True,
                    "target_service": {"summary": "Checkout API"},
                }
            ],
        },
    },
}
