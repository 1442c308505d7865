"""``reads.pd.<account>.health`` (``pdjira doctor``): the token works, and the ``From`` user
(config ``from_email``) exists with a role that can act on incidents. Through the account's
client: the same budget.

Not checked: whether the key is read-only (PagerDuty tells only by refusing a write), and
whether it is a user's key (``GET /users/me``, which account keys are refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from faststream.nats import NatsBroker
from pdjira_common.doctor import PD_HEALTH, PdHealthRead, PdHealthReply
from pdjira_writer.reads import answer_read, serve_read

from pdjira_pd_writer.handlers import CONSUMER
from pdjira_pd_writer.pd_client import PagerDutyApi
from pdjira_pd_writer.spec import SPEC

__all__ = ["PdHealthApi", "health_of", "register_health"]


@runtime_checkable
class PdHealthApi(Protocol):
    async def users_matching(self, email: str) -> list[dict[str, Any]]: ...


async def health_of(api: PdHealthApi, from_email: str) -> PdHealthReply:
    users = await api.users_matching(from_email)  # a bad token fails here (401)
    user = users[0] if users else None
    return PdHealthReply(
        token_ok=True,
        from_user_id=str(user.get("id")) if user else None,
        from_role=str(user.get("role")) if user and user.get("role") else None,
    )


def register_health(broker: NatsBroker, clients: Mapping[str, PagerDutyApi]) -> None:
    async def answer(request: PdHealthRead) -> PdHealthReply:
        async def check(client: PagerDutyApi) -> PdHealthReply:
            if not isinstance(client, PdHealthApi):
                raise TypeError("this PagerDuty client cannot check its health")
            return await health_of(client, request.from_email)

        return await answer_read(clients, request.account, SPEC, PD_HEALTH, check, PdHealthReply)

    serve_read(broker, f"reads.pd.*.{PD_HEALTH}", answer, queue=CONSUMER)
