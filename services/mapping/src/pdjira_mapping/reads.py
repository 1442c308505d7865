"""Reads mapping asks the writers for (they own all vendor traffic): PagerDuty users by id and
by e-mail, Jira users by e-mail and by key, and whose a person's own tokens are (self-link).
A writer that does not answer is a :class:`ReadFailed`."""

from __future__ import annotations

from typing import Protocol, TypeVar

import msgspec
from faststream.nats import NatsBroker
from nats.errors import NoRespondersError
from pdjira_common.contracts import encode
from pdjira_common.identity import JiraUserByKey, JiraWhoAmI, PdWhoAmI, WhoAmIReply
from pdjira_common.requests import (
    JiraUser,
    JiraUserSearch,
    JiraUsersReply,
    PdUser,
    PdUserRead,
    PdUserReply,
    PdUserSearch,
    jira_read_subject,
    pd_read_subject,
)

__all__ = ["NatsReads", "ReadFailed", "Reads"]

R = TypeVar("R", bound=msgspec.Struct)


class ReadFailed(Exception):
    """A writer's read failed or got no answer: not a miss, nothing to cache."""


class Reads(Protocol):
    async def pd_user(self, account: str, user_id: str) -> PdUser | None: ...

    async def pd_user_by_email(self, account: str, email: str) -> PdUser | None: ...

    async def jira_users(self, instance: str, query: str) -> tuple[JiraUser, ...]: ...

    async def jira_user_by_key(self, instance: str, key: str) -> JiraUser | None: ...

    async def pd_whoami(self, account: str, token: str) -> WhoAmIReply: ...

    async def jira_whoami(self, instance: str, token: str) -> WhoAmIReply: ...


class NatsReads:
    """The writers' read subjects over core NATS request/reply."""

    def __init__(self, broker: NatsBroker, *, timeout: float) -> None:
        self._broker = broker
        self._timeout = timeout

    async def _ask(self, message: msgspec.Struct, subject: str, reply: type[R]) -> R:
        who = "pd-writer" if subject.startswith("reads.pd.") else "jira-writer"
        try:
            response = await self._broker.request(encode(message), subject, timeout=self._timeout)
        except TimeoutError as exc:
            raise ReadFailed(f"{who} did not answer {subject} in {self._timeout}s") from exc
        except NoRespondersError as exc:
            raise ReadFailed(f"no {who} answers {subject}; is it running?") from exc
        try:
            return msgspec.json.decode(response.body, type=reply)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ReadFailed(f"{who} answered {subject} with a bad reply: {exc}") from exc

    async def pd_user(self, account: str, user_id: str) -> PdUser | None:
        subject = pd_read_subject(account, "user")
        reply = await self._ask(PdUserRead(account=account, user_id=user_id), subject, PdUserReply)
        if reply.error:
            raise ReadFailed(reply.error)
        return reply.user

    async def pd_user_by_email(self, account: str, email: str) -> PdUser | None:
        subject = pd_read_subject(account, "users_by_email")
        reply = await self._ask(PdUserSearch(account=account, email=email), subject, PdUserReply)
        if reply.error:
            raise ReadFailed(reply.error)
        return reply.user

    async def jira_users(self, instance: str, query: str) -> tuple[JiraUser, ...]:
        subject = jira_read_subject(instance, "users_by_email")
        message = JiraUserSearch(instance=instance, query=query)
        reply = await self._ask(message, subject, JiraUsersReply)
        if reply.error:
            raise ReadFailed(reply.error)
        return reply.users

    async def jira_user_by_key(self, instance: str, key: str) -> JiraUser | None:
        subject = jira_read_subject(instance, "user_by_key")
        message = JiraUserByKey(instance=instance, key=key)
        reply = await self._ask(message, subject, JiraUsersReply)
        if reply.error:
            raise ReadFailed(reply.error)
        return reply.users[0] if reply.users else None

    async def pd_whoami(self, account: str, token: str) -> WhoAmIReply:
        """Whose the user API key is; the reply's ``problem`` says why nobody."""
        message = PdWhoAmI(account=account, token=token)
        return await self._ask(message, pd_read_subject(account, "whoami"), WhoAmIReply)

    async def jira_whoami(self, instance: str, token: str) -> WhoAmIReply:
        """Whose the personal access token is; the reply's ``problem`` says why nobody."""
        message = JiraWhoAmI(instance=instance, token=token)
        return await self._ask(message, jira_read_subject(instance, "whoami"), WhoAmIReply)
