"""Pure decisions of the pd-writer: does a status change need a write at all?"""

from __future__ import annotations

from pdjira_pd_writer.models import IncidentStatus

__all__ = ["ALREADY_THERE_CODES", "already_there", "needs_write"]

# PagerDuty's codes for "the incident is already in that state" (a race between our GET and
# PUT, e.g. a person resolving it meanwhile): the goal is reached, nothing failed.
ALREADY_THERE_CODES: dict[int, IncidentStatus] = {
    1001: "resolved",  # Incident Already Resolved
    1002: "acknowledged",  # Incident Already Acknowledged
}


def needs_write(current: IncidentStatus, wanted: IncidentStatus) -> bool:
    """Convergent writes: only a different status is written (this stops Jira->PD->Jira loops)."""
    return current != wanted


def already_there(error_code: int | None, wanted: IncidentStatus) -> bool:
    """Whether PagerDuty's refusal means the incident already has the wanted status."""
    return error_code is not None and ALREADY_THERE_CODES.get(error_code) == wanted
