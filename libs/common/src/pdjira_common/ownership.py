"""How pdjira marks what it creates, so that every service can tell it (pure).

An issue pdjira creates for an incident carries the label ``pdjira-<account>-<incident id>``
(jira-writer finds it again by it: one issue per incident). An incident it creates for an issue
has the issue's key as ``incident_key`` (PagerDuty then refuses a second open one).
"""

from __future__ import annotations

from collections.abc import Iterable

from pdjira_common.contracts import IncidentRef, IssueRef

__all__ = ["LABEL_PREFIX", "created_for_incident", "incident_key_for", "issue_label"]

LABEL_PREFIX = "pdjira-"


def issue_label(incident: IncidentRef) -> str:
    """``pdjira-<account>-<incident_id>``: the label of the issue created for ``incident``."""
    return f"{LABEL_PREFIX}{incident.account}-{incident.incident_id}"


def created_for_incident(labels: Iterable[str]) -> IncidentRef | None:
    """The incident an issue with these labels was created for (None: not one of ours).
    PagerDuty's incident ids hold no dash: the last one ends the account id."""
    for label in labels:
        account, _, incident_id = label.removeprefix(LABEL_PREFIX).rpartition("-")
        if label.startswith(LABEL_PREFIX) and account and incident_id:
            return IncidentRef(account=account, incident_id=incident_id)
    return None


def incident_key_for(issue: IssueRef) -> str:
    """The ``incident_key`` of the incident created for ``issue``: its key (as people see it)."""
    return issue.key
