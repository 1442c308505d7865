"""Health reads for ``pdjira doctor`` and ``rules validate``: what the writers find out about
their credentials, the vendor and the integration user's rights (core NATS request/reply).

- ``reads.jira.<instance>.health``: :class:`JiraHealthRead` -> :class:`JiraHealthReply` (Jira's
  version, who the credentials log in as, per asked project the permissions held, and for a
  Jira Service Management project its request types and whether the user is an agent);
- ``reads.pd.<account>.health``: :class:`PdHealthRead` -> :class:`PdHealthReply` (the token
  works, and the ``From`` user exists and may act).
"""

from __future__ import annotations

import msgspec

__all__ = [
    "JIRA_HEALTH",
    "PD_HEALTH",
    "SERVICE_DESK_TEAM",
    "JiraHealthRead",
    "JiraHealthReply",
    "JiraProjectAccess",
    "JiraServiceDesk",
    "PdHealthRead",
    "PdHealthReply",
]

JIRA_HEALTH = "health"  # reads.jira.<instance>.health
PD_HEALTH = "health"  # reads.pd.<account>.health
# The project role whose members are a service desk's agents.
SERVICE_DESK_TEAM = "Service Desk Team"


class JiraHealthRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_health.v1"):
    """Check the instance's login; for each of ``projects`` (keys or ids), which project
    permissions (``BROWSE_PROJECTS``, ``TRANSITION_ISSUES``, ...) the login holds there."""

    instance: str
    projects: tuple[str, ...] = ()


class JiraServiceDesk(msgspec.Struct, frozen=True, kw_only=True):
    """The project is a Jira Service Management service desk."""

    id: str
    request_types: tuple[str, ...] = ()  # their names
    # Is the login in the project's "Service Desk Team" role (directly or by a group)? None:
    # the role could not be read (``role_error`` says why).
    agent: bool | None = None
    role_error: str | None = None


class JiraProjectAccess(msgspec.Struct, frozen=True, kw_only=True):
    project: str  # as asked
    key: str | None = None  # None: the project does not exist or the login cannot see it
    held: tuple[str, ...] = ()  # permission keys the login has in the project
    service_desk: JiraServiceDesk | None = None
    error: str | None = None  # this project's permissions could not be read


class JiraHealthReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_health_reply.v1"):
    version: str | None = None  # serverInfo ``version``
    deployment: str | None = None  # serverInfo ``deploymentType``
    user: str | None = None  # the login name the credentials act as
    projects: tuple[JiraProjectAccess, ...] = ()
    # Service Management is installed (``/rest/servicedeskapi`` answers); None: not asked.
    service_management: bool | None = None
    error: str | None = None  # the instance could not be reached or refused the login


class PdHealthRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_health.v1"):
    """Check the account's token, and the ``From`` user (config ``from_email``)."""

    account: str
    from_email: str


class PdHealthReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_health_reply.v1"):
    token_ok: bool = False
    # "user": a user's key or OAuth token (``GET /users/me`` answers); "account": an account
    # key (writes need ``From``); None: not known.
    token_kind: str | None = None
    from_user_id: str | None = None  # None: no user with that e-mail
    from_role: str | None = None  # the From user's role (read-only roles cannot act)
    error: str | None = None
