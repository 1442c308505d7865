"""Whose a PagerDuty user-level API key is (``reads.pd.<account>.whoami``, for self-link):
``GET /users/me`` with the person's own key, used for that one call and dropped (never
stored, never logged)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Protocol, runtime_checkable

from faststream.nats import NatsBroker
from pdjira_common.identity import PdWhoAmI, WhoAmIReply
from pdjira_common.requests import PdUser
from pdjira_writer.reads import answer_read, serve_read

from pdjira_pd_writer.models import User
from pdjira_pd_writer.pd_client import PagerDutyApi
from pdjira_pd_writer.spec import SPEC

__all__ = ["PdIdentityApi", "register_identity_reads", "whoami_reply"]

# PagerDuty's words for ``/users/me`` with an account-level key (a 400).
_ACCOUNT_LEVEL = "account-level"

_UNAVAILABLE = partial(WhoAmIReply, problem="unavailable")


@runtime_checkable
class PdIdentityApi(Protocol):
    async def user_of_token(self, token: str) -> tuple[int, User | None, str]: ...


def whoami_reply(account: str, status: int, user: User | None, words: str) -> WhoAmIReply:
    """The answer to "whose is this key" from PagerDuty's answer to ``GET /users/me``."""
    if user is not None:
        return WhoAmIReply(pd_user=PdUser(id=user.id, email=user.email, name=user.name))
    if status == 400 and _ACCOUNT_LEVEL in words.casefold():
        return WhoAmIReply(
            problem="not_a_user_token",
            error=f"that is an account-level API key of PagerDuty account {account!r}, which "
            "names no person; give your own user API key (My Profile > User Settings > "
            "Create API User Token)",
        )
    if status in (401, 403):
        return WhoAmIReply(
            problem="refused",
            error=f"PagerDuty account {account!r} refused the API key ({status}): give your "
            "own current user API key (My Profile > User Settings > Create API User Token)",
        )
    return WhoAmIReply(
        problem="unavailable",
        error=f"PagerDuty account {account!r} answered {status} ({words or 'no message'}) "
        "when asked whose the key is; try again later",
    )


def register_identity_reads(broker: NatsBroker, clients: Mapping[str, PagerDutyApi]) -> None:
    """``reads.pd.*.whoami``."""

    async def whoami(request: PdWhoAmI) -> WhoAmIReply:
        async def ask(client: PagerDutyApi) -> WhoAmIReply:
            if not isinstance(client, PdIdentityApi):
                raise TypeError("this PagerDuty client cannot check a user's API key")
            return whoami_reply(request.account, *await client.user_of_token(request.token))

        return await answer_read(clients, request.account, SPEC, "whoami", ask, _UNAVAILABLE)

    serve_read(broker, "reads.pd.*.whoami", whoami, queue=SPEC.name)
