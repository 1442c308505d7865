"""A Jira issue as a Server webhook carries it, read into typed facts as ingest reads it, for
the JQL tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pdjira_common.facts import IssueFields, read_issue_fields

NOW: Final = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FIELD_IDS: Final = {
    "Customer Tier": "customfield_10010",
    "Impact Score": "customfield_10020",
    "Go Live": "cf[10030]",
    "Teams": "10040",
    "Region": "customfield_10050",
    "Absent Field": "customfield_19999",
}


@dataclass(frozen=True)
class Issue:
    """What JQL is evaluated against (an IssueEvent has the same three attributes)."""

    key: str
    issue_id: str
    fields: IssueFields


def as_issue(payload: object) -> Issue:
    """A webhook's ``issue`` object, odd ones too, as the rules service sees it."""
    raw = payload if isinstance(payload, dict) else {}
    key, issue_id = raw.get("key"), raw.get("id")
    return Issue(
        key=key if isinstance(key, str) else "",
        issue_id=str(issue_id) if isinstance(issue_id, str | int) else "",
        fields=read_issue_fields(raw.get("fields")),
    )


def issue() -> Issue:
    return as_issue(raw_issue())


def raw_issue() -> dict[str, Any]:
    return {
        "id": "10100",
        "key": "PD-12",
        "fields": {
            "project": {"id": "10000", "key": "PD", "name": "PagerDuty"},
            "issuetype": {"id": "10004", "name": "Bug", "subtask": False},
            "status": {
                "id": "3",
                "name": "In Progress",
                "statusCategory": {"id": 4, "key": "indeterminate", "name": "In Progress"},
            },
            "priority": {"id": "2", "name": "High"},
            "labels": ["sev1", "Database"],
            "components": [{"id": "10200", "name": "Backend"}, {"id": "10201", "name": "API"}],
            "assignee": {
                "name": "jsmith",
                "key": "JIRAUSER10001",
                "displayName": "John Smith",
                "emailAddress": "john@example.com",
            },
            "reporter": {"name": "admin", "key": "admin", "displayName": "Administrator"},
            "resolution": None,
            "resolutiondate": None,
            "summary": "Database connection pool exhausted on checkout",
            "description": "Checkout fails with HTTP 500.\nSee the [runbook|https://x].",
            "environment": None,
            "created": "2026-11-20T10:00:00.000+0000",
            "updated": "2026-11-26T09:30:00.000+0000",
            "duedate": "2026-12-01",
            "fixVersions": [],
            "customfield_10010": {"self": "x", "value": "Gold", "id": "10300"},
            "customfield_10020": 7.5,
            "customfield_10030": "2026-11-01T00:00:00.000+0000",
            "customfield_10040": [{"value": "Payments"}, {"value": "SRE"}],
            "customfield_10050": None,
        },
    }
