"""Who a Jira user is: by key (``reads.jira.<instance>.user_by_key``), and whose a personal
access token is (``reads.jira.<instance>.whoami``, for self-link). The token is used for the
one call and dropped: never stored, never logged."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Protocol, runtime_checkable

from faststream.nats import NatsBroker
from pdjira_common.identity import JiraUserByKey, JiraWhoAmI, WhoAmIReply
from pdjira_common.requests import JiraUser, JiraUsersReply
from pdjira_writer.reads import answer_read, serve_read

from pdjira_jira_writer.jira_client import JiraApi
from pdjira_jira_writer.models import User
from pdjira_jira_writer.spec import SPEC

__all__ = ["JiraIdentityApi", "register_identity_reads", "whoami_reply"]

_UNAVAILABLE = partial(WhoAmIReply, problem="unavailable")


@runtime_checkable
class JiraIdentityApi(Protocol):
    async def user_by_key(self, key: str) -> User | None: ...

    async def user_of_token(self, token: str) -> tuple[int, User | None]: ...


def _jira_user(user: User) -> JiraUser:
    return JiraUser(
        name=user.name, key=user.key, email=user.emailAddress, display_name=user.displayName
    )


def whoami_reply(instance: str, status: int, user: User | None) -> WhoAmIReply:
    """The answer to "whose is this PAT" from Jira's answer to ``GET /myself``."""
    if user is not None:
        return WhoAmIReply(jira_user=_jira_user(user))
    if status in (401, 403):
        return WhoAmIReply(
            problem="refused",
            error=f"Jira instance {instance!r} refused the personal access token ({status}): "
            "create one in Jira (Profile > Personal Access Tokens) and give that",
        )
    return WhoAmIReply(
        problem="unavailable",
        error=f"Jira instance {instance!r} answered {status} when asked whose the token is; "
        "try again later",
    )


def _identity(client: JiraApi) -> JiraIdentityApi:
    if not isinstance(client, JiraIdentityApi):
        raise TypeError("this Jira client cannot look users up by key or token")
    return client


def register_identity_reads(broker: NatsBroker, clients: Mapping[str, JiraApi]) -> None:
    """``reads.jira.*.user_by_key`` and ``reads.jira.*.whoami``."""

    async def by_key(request: JiraUserByKey) -> JiraUsersReply:
        async def get(client: JiraApi) -> JiraUsersReply:
            found = await _identity(client).user_by_key(request.key)
            return JiraUsersReply(users=(_jira_user(found),) if found is not None else ())

        return await answer_read(
            clients, request.instance, SPEC, "user_by_key", get, JiraUsersReply
        )

    async def whoami(request: JiraWhoAmI) -> WhoAmIReply:
        async def ask(client: JiraApi) -> WhoAmIReply:
            status, user = await _identity(client).user_of_token(request.token)
            return whoami_reply(request.instance, status, user)

        return await answer_read(clients, request.instance, SPEC, "whoami", ask, _UNAVAILABLE)

    serve_read(broker, "reads.jira.*.user_by_key", by_key, queue=SPEC.name)
    serve_read(broker, "reads.jira.*.whoami", whoami, queue=SPEC.name)
