"""The jira-writer's reconciliation read (pure parts): the JQL it sends and what it keeps of a
search hit."""

from __future__ import annotations

from datetime import UTC, datetime

from pdjira_jira_writer.models import (
    ChangedIssue,
    ChangedIssueLog,
    ChangeHistory,
    ChangeHistoryItem,
)
from pdjira_jira_writer.reads import changes_jql, issue_changes


def test_the_jql_names_the_projects_quoted_and_a_relative_time() -> None:
    assert changes_jql(("OPS", 'we"ird'), 7) == (
        'project in ("OPS", "we\\"ird") AND updated >= "-7m" ORDER BY updated ASC'
    )
    assert changes_jql((), 2) == 'updated >= "-2m" ORDER BY updated ASC'


def test_only_histories_and_comments_since_the_time_asked_are_kept() -> None:
    raw = ChangedIssue(
        id="10100",
        key="OPS-4",
        fields={
            "project": {"key": "OPS"},
            "issuetype": {"name": "Bug"},
            "status": {"id": "3", "name": "In Progress"},
            "comment": {
                "comments": [
                    {"id": 1, "body": "old", "created": "2020-10-02T17:00:00.000+0000"},
                    {
                        "id": "2",
                        "body": "new",
                        "created": "2020-10-02T18:30:00.000+0000",
                        "author": {"name": "jdoe", "key": "JIRAUSER10100"},
                    },
                ]
            },
        },
        changelog=ChangedIssueLog(
            histories=(
                ChangeHistory(id="7", created="2020-10-02T17:59:59.999+0000"),
                ChangeHistory(
                    id="8",
                    created="2020-10-02T20:00:00.000+0200",  # 18:00 UTC: kept
                    author={"name": "jdoe", "key": "JIRAUSER10100"},
                    items=(ChangeHistoryItem(field="status", from_=1, to="3"),),
                ),
            )
        ),
    )
    changes = issue_changes(raw, datetime(2020, 10, 2, 18, 0, tzinfo=UTC))
    assert [h.id for h in changes.histories] == ["8"]
    assert changes.histories[0].items[0].from_value == "1"
    assert changes.histories[0].author is not None
    assert changes.histories[0].author.name == "jdoe"
    assert [(c.id, c.body) for c in changes.comments] == [("2", "new")]
    assert changes.fields.status.name == "In Progress"
