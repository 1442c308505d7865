"""Request/reply contracts between services (core NATS, not streams).

- mapping answers user lookups and echo marks (it is the single writer of both);
- the writers answer vendor reads for others, so all traffic to one vendor shares one budget.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "ECHO_CONSUME",
    "ECHO_MARK",
    "USER_LOOKUP",
    "EchoConsume",
    "EchoMark",
    "EchoReply",
    "JiraUser",
    "JiraUserSearch",
    "JiraUsersReply",
    "PdUser",
    "PdUserRead",
    "PdUserReply",
    "UserLookup",
    "UserReply",
    "jira_read_subject",
    "pd_read_subject",
]

USER_LOOKUP = "mapping.users.lookup"
ECHO_MARK = "mapping.echo.mark"
ECHO_CONSUME = "mapping.echo.consume"

System = Literal["pd", "jira"]
UserSource = Literal["manual", "email", "fallback"]


def pd_read_subject(account: str, what: str) -> str:
    """Reads pd-writer answers for others, e.g. ``reads.pd.main.user``."""
    return f"reads.pd.{account}.{what}"


def jira_read_subject(instance: str, what: str) -> str:
    """Reads jira-writer answers for others, e.g. ``reads.jira.main.users_by_email``."""
    return f"reads.jira.{instance}.{what}"


# ---------------------------------------------------------------- users


class PdUser(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str | None = None
    name: str | None = None


class JiraUser(msgspec.Struct, frozen=True, kw_only=True):
    """A Jira Server/DC user: ``name`` (login, can change) and ``key`` (immutable)."""

    name: str
    key: str
    email: str | None = None
    display_name: str | None = None


class UserLookup(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.user_lookup.v1"):
    """Who is this person on the other side? Give exactly one of the two users."""

    account: str
    instance: str
    pd_user_id: str | None = None
    jira_user_key: str | None = None


class UserReply(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.user_reply.v1"):
    """The counterpart (manual link, then email, then fallback) or none, with why."""

    pd_user: PdUser | None = None
    jira_user: JiraUser | None = None
    source: UserSource | None = None
    reason: str = ""


# ---------------------------------------------------------------- echo marks


class EchoMark(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.echo_mark.v1"):
    """We are about to set ``field`` of ``entity`` to ``value``: the webhook after it is ours."""

    system: System
    entity: str  # incident id (pd) or issue id (jira), prefixed by account/instance id
    field: str  # "status", "priority", "comment", "note", ...
    value: str
    ttl_seconds: float = 300.0


class EchoConsume(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.echo_consume.v1"):
    """Is this change the echo of our own write? Consumes the mark when it is."""

    system: System
    entity: str
    field: str
    value: str


class EchoReply(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.echo_reply.v1"):
    matched: bool


# ---------------------------------------------------------------- reads served by the writers


class PdUserRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_user.v1"):
    account: str
    user_id: str


class PdUserReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_user_reply.v1"):
    user: PdUser | None = None
    error: str | None = None


class JiraUserSearch(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_user_search.v1"):
    """Jira users whose username, name or e-mail matches (``user/search?username=``)."""

    instance: str
    query: str


class JiraUsersReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_users_reply.v1"):
    users: tuple[JiraUser, ...] = ()
    error: str | None = None
