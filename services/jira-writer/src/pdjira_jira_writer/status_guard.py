"""Pure: may a transition override the issue's status as it is now? The last human change wins
(a command caused before a person's latest status change is skipped), and Done stays Done
unless the rule explicitly reopens on a newer cause."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pdjira_writer.write_order import cause_time, parse_time

from pdjira_jira_writer.models import History

__all__ = ["DONE", "StatusChange", "latest_status_change", "transition_guard"]

DONE = "done"  # Jira's status category key of Done statuses


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The issue's latest status change, from its changelog."""

    status: str
    at: str  # Jira's time of it (``created`` of the change group)
    login: str  # who made it (the author's name)
    who: str  # how people call them (display name, else the login)


def latest_status_change(histories: Sequence[History]) -> StatusChange | None:
    """The newest change group that changed the status (None: never changed since created)."""
    changes = [
        (parse_time(h.created), i, h, item)
        for i, h in enumerate(histories)
        for item in h.items
        if item.field == "status" and parse_time(h.created) is not None
    ]
    if not changes:
        return None
    _, _, history, item = max(changes, key=lambda c: (c[0], c[1]))
    login = history.author.name if history.author else ""
    who = (history.author.displayName if history.author else None) or login or "someone"
    return StatusChange(status=item.toString or "", at=history.created, login=login, who=who)


def transition_guard(
    *,
    issue_key: str,
    status: str,
    in_done: bool,
    target_done: bool,
    reopen: bool,
    caused_at: str | None,
    change: StatusChange | None,
    our_login: str,
) -> str | None:
    """Why moving the issue to its target must not happen, or None to go on.

    ``change``: its latest status change; ``our_login``: the user pdjira writes as (its
    changes are not a person's). No cause time (an older publisher): only Done stays Done."""
    cause = cause_time(caused_at) if caused_at else None
    changed = parse_time(change.at) if change is not None else None
    if in_done and not target_done:
        if not reopen:
            return (
                f"issue {issue_key} is in '{status}', a Done status, and stays there: only a "
                "rule that reopens it (on a reopened incident) may move it out"
            )
        if cause is None or (changed is not None and cause <= changed):
            when = change.at if change is not None else "an unknown time"
            return (
                f"issue {issue_key} stays in '{status}': the reopen's cause "
                f"({caused_at or 'no cause time'}) is not newer than its last status change at "
                f"{when}"
            )
    if cause is None or change is None or changed is None or cause >= changed:
        return None
    if change.login.casefold() == our_login.casefold():
        return None  # our own change: the write order among ours decides
    return f"older than {change.who}'s change to '{change.status}' at {change.at} ({caused_at})"
