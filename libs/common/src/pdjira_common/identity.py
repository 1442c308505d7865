"""Who a user is: a Jira user by key, and "who am I with this token" (self-link).

Reads the writers answer for mapping (core NATS request/reply):

- ``reads.jira.<instance>.user_by_key``: :class:`JiraUserByKey` -> ``JiraUsersReply`` with
  the one user (``GET /rest/api/2/user?key=``), none when Jira has no such key. Webhooks and
  commands carry the immutable user key (``JIRAUSER10100``), which Jira's user *search* does
  not match: it matches username, name and e-mail only.
- ``reads.pd.<account>.whoami`` / ``reads.jira.<instance>.whoami``: :class:`PdWhoAmI` /
  :class:`JiraWhoAmI` -> :class:`WhoAmIReply`: the user a person's own token belongs to
  (PagerDuty ``GET /users/me`` with their user-level API key, Jira ``GET /rest/api/2/myself``
  with ``Bearer <their PAT>``). The token is used for that one call: never stored or logged.

And the self-link request mapping's admin API takes (HTTP, no admin token: the two tokens
are the proof): :class:`SelfLinkRequest`.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from pdjira_common.requests import JiraUser, PdUser

__all__ = [
    "JiraUserByKey",
    "JiraWhoAmI",
    "PdWhoAmI",
    "SelfLinkRequest",
    "WhoAmIReply",
]


class JiraUserByKey(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_user_by_key.v1"):
    """The Jira user whose (immutable) key is ``key``; answered with a ``JiraUsersReply``."""

    instance: str
    key: str


class PdWhoAmI(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_whoami.v1"):
    """The PagerDuty user of a user-level API key (``GET /users/me``)."""

    account: str
    token: str

    def __repr__(self) -> str:  # never the token
        return f"PdWhoAmI(account={self.account!r}, token=<hidden>)"


class JiraWhoAmI(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_whoami.v1"):
    """The Jira user of a personal access token (``GET /rest/api/2/myself``)."""

    instance: str
    token: str

    def __repr__(self) -> str:  # never the token
        return f"JiraWhoAmI(instance={self.instance!r}, token=<hidden>)"


# Why a token names nobody: refused by the vendor (bad or expired), an account-level key
# (names no person), or the writer could not ask (``error`` says; try again later).
WhoAmIProblem = Literal["refused", "not_a_user_token", "unavailable"]


class WhoAmIReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.whoami_reply.v1"):
    pd_user: PdUser | None = None
    jira_user: JiraUser | None = None
    problem: WhoAmIProblem | None = None
    error: str | None = None


class SelfLinkRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /admin/users/self-link``: a person's own PagerDuty user API key and Jira PAT."""

    account: str
    instance: str
    pd_token: str
    jira_token: str

    def __repr__(self) -> str:  # never the tokens
        return f"SelfLinkRequest(account={self.account!r}, instance={self.instance!r})"
