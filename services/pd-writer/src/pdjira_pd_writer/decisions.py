"""Pure decisions of the pd-writer: does a status change need a write, and as whom?"""

from __future__ import annotations

from dataclasses import dataclass

from pdjira_common.bus import Retryable
from pdjira_common.contracts import IssueRef
from pdjira_common.requests import UserReply

from pdjira_pd_writer.models import IncidentSnapshot, IncidentStatus

__all__ = [
    "ALREADY_THERE_CODES",
    "Actor",
    "already_there",
    "choose_from",
    "incident_key",
    "needs_write",
    "note_text",
    "pick_incident",
]

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


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a write is made as: ``email`` for ``From`` (None: skip the write, ``why`` says)."""

    email: str | None
    source: str
    why: str = ""


def choose_from(reply: UserReply | None, integration_email: str) -> Actor:
    """``From``: the mapped user of the Jira user who caused the change, else the fallback
    user, else the configured integration user; none of them: no write."""
    if reply is not None and reply.error is not None:
        # Mapping could not answer: not "nobody"; the command retries.
        raise Retryable(f"user lookup failed: {reply.error}")
    if reply is not None and reply.pd_user is not None and reply.pd_user.email:
        return Actor(email=reply.pd_user.email, source=reply.source or "mapped")
    if integration_email.strip():
        return Actor(email=integration_email.strip(), source="integration")
    why = reply.reason if reply is not None and reply.reason else "no user mapping"
    return Actor(
        email=None,
        source="none",
        why=f"skipped: no PagerDuty user to act as ({why}) and no from_email is configured; "
        "map the Jira user, set a fallback user, or set pagerduty_accounts[].from_email",
    )


def note_text(body: str, actor: Actor, jira_user_key: str | None) -> str:
    """The note as posted: as is when written as the person; else naming the Jira author."""
    text = body.strip()
    if actor.source in ("manual", "email", "mapped") or not jira_user_key:
        return text
    return f"[{jira_user_key} in Jira]\n{text}"


def incident_key(issue: IssueRef) -> str:
    """The ``incident_key`` of the incident created for ``issue``: its key (as people see it)."""
    return issue.key


def pick_incident(found: tuple[IncidentSnapshot, ...]) -> IncidentSnapshot | None:
    """The issue's incident among those with its key: an open one first, else the oldest
    (PagerDuty allows one open incident per key and service; resolved ones are still ours)."""
    if not found:
        return None
    open_ = [i for i in found if i.status != "resolved"]
    return (open_ or list(found))[0]
