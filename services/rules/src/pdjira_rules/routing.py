"""Where each command goes (pure): the writer for its system, keyed by the incident so that
every command about one incident shares a subject and keeps its order."""

from __future__ import annotations

from pdjira_common import subjects
from pdjira_common.contracts import (
    AddComment,
    Command,
    CreateIncident,
    CreateIssue,
    TransitionIssue,
    UpdateIssueFields,
)

__all__ = ["command_subject", "issue_entity"]


def issue_entity(command: CreateIncident) -> str:
    return f"jira-{command.issue.instance}-{command.issue.issue_id}"


def command_subject(command: Command) -> str:
    if isinstance(command, (CreateIssue, TransitionIssue, UpdateIssueFields, AddComment)):
        return subjects.command_jira(command.instance, command.incident.incident_id)
    if isinstance(command, CreateIncident):
        # No incident yet: keyed by the issue, so creates for one issue keep their order.
        return subjects.command_pd(command.account, issue_entity(command))
    return subjects.command_pd(command.incident.account, command.incident.incident_id)
