"""What the mapping service stores besides links (msgspec Structs, JSON in KV buckets)."""

from __future__ import annotations

import msgspec
from pdjira_common.contracts import IncidentRef, IssueRef
from pdjira_common.requests import JiraUser, PdUser

__all__ = ["EmailEntry", "LinkState", "ManualLink", "Mark", "Marks", "Pair"]


class ManualLink(msgspec.Struct, frozen=True, kw_only=True):
    """A person linked by hand (admin API, CLI or CSV import), per account/instance pair."""

    account: str
    instance: str
    pd_user: PdUser
    jira_user: JiraUser
    linked_at: str


class EmailEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A cached e-mail lookup: the asked user and its counterpart, or a miss and why."""

    pd_user: PdUser | None = None
    jira_user: JiraUser | None = None
    found: bool
    reason: str = ""
    cached_at: float  # epoch seconds


class Mark(msgspec.Struct, frozen=True, kw_only=True):
    """One echo mark; kept after it is consumed (until it expires) so a redelivered event
    that consumed it matches again."""

    expires_at: float
    consumed_by: str | None = None


class Marks(msgspec.Struct, frozen=True, kw_only=True):
    """The marks of one (system, entity, field, value): two identical writes, two marks."""

    marks: tuple[Mark, ...] = ()


class Pair(msgspec.Struct, frozen=True, kw_only=True):
    """A note and the comment that mirrors it (or the reverse), on one link."""

    incident: IncidentRef
    issue: IssueRef
    note_id: str
    comment_id: str
    recorded_at: str


class LinkState(msgspec.Struct, frozen=True, kw_only=True):
    """The last state we wrote on each side of a link, and when (ISO time)."""

    jira_status: str | None = None
    jira_written_at: str | None = None
    pd_status: str | None = None
    pd_written_at: str | None = None
    last_comment_at: str | None = None
    last_note_at: str | None = None
