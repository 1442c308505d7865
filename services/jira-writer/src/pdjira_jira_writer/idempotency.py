"""Pure pieces of the idempotent create: the label that marks an incident's issue, the JQL that
finds it, and the create request that carries it."""

from __future__ import annotations

import re
from typing import Any

from pdjira_common.contracts import CreateIssue, IncidentRef

# The label one issue per incident carries, found again by search.
from pdjira_common.ownership import issue_label as idempotency_label

__all__ = [
    "ISSUE_PROPERTY",
    "MAX_SUMMARY",
    "create_fields",
    "idempotency_label",
    "issue_properties",
    "jql_string",
    "label_jql",
    "summary_line",
]

# Issue property written at create time (atomically with the issue) naming the incident.
ISSUE_PROPERTY = "pdjira"
# Jira refuses summaries of 255 characters or more, and any with a newline.
MAX_SUMMARY = 254
_WHITESPACE = re.compile(r"\s+")


def jql_string(value: str) -> str:
    """A JQL string literal: backslashes and quotes escaped, whitespace as spaces, quoted."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + _WHITESPACE.sub(" ", escaped) + '"'


def label_jql(label: str) -> str:
    return f"labels = {jql_string(label)}"


def summary_line(summary: str) -> str:
    """A summary Jira accepts: one line, under its length limit (cut with an ellipsis)."""
    line = _WHITESPACE.sub(" ", summary).strip() or "(no title)"
    return line if len(line) <= MAX_SUMMARY else line[: MAX_SUMMARY - 1] + "…"


def create_fields(
    command: CreateIssue,
    *,
    project_id: str | None = None,
    issue_type_id: str | None = None,
    priority_id: str | None = None,
    assignee_name: str | None = None,
) -> dict[str, Any]:
    """The ``fields`` of ``POST /issue`` for ``command``, with the idempotency label added.

    Ids (as resolved from what Jira lists) are sent when given, else the command's names.
    ``command.fields`` (any other field) are merged in; ours win, but their labels are kept."""
    extra = dict(command.fields)
    extra_labels = extra.pop("labels", None)
    rule_labels = [str(x) for x in extra_labels] if isinstance(extra_labels, list | tuple) else []
    labels = list(
        dict.fromkeys([*command.labels, *rule_labels, idempotency_label(command.incident)])
    )
    fields: dict[str, Any] = {
        **extra,
        "project": {"id": project_id} if project_id else {"key": command.project},
        "issuetype": {"id": issue_type_id} if issue_type_id else {"name": command.issue_type},
        "summary": summary_line(command.summary),
        "description": command.description,
        "labels": labels,
    }
    if priority_id:
        fields["priority"] = {"id": priority_id}
    elif command.priority:
        fields["priority"] = {"name": command.priority}
    if assignee_name:
        fields["assignee"] = {"name": assignee_name}
    return fields


def issue_properties(incident: IncidentRef) -> list[dict[str, Any]]:
    return [
        {
            "key": ISSUE_PROPERTY,
            "value": {"account": incident.account, "incident_id": incident.incident_id},
        }
    ]
