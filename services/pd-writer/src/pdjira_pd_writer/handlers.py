"""Thin handlers of the pd-writer: the reads it answers for others (request/reply), through
the account's pacer. Its commands go through the kernel's lane handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from faststream.nats import NatsBroker
from pdjira_common.requests import (
    PdCatalogRead,
    PdNamed,
    PdNamesReply,
    PdUser,
    PdUserRead,
    PdUserReply,
    PdUserSearch,
)
from pdjira_writer.reads import read_from, serve_read

from pdjira_pd_writer.errors import PagerDutyError
from pdjira_pd_writer.models import User
from pdjira_pd_writer.pd_client import PagerDutyApi
from pdjira_pd_writer.reads import register_change_reads
from pdjira_pd_writer.spec import SPEC

__all__ = ["CONSUMER", "register_reads"]

CONSUMER = SPEC.name  # the durable consumer of commands.pd.>; replicas share it and the reads


def _user(user: User | None) -> PdUser | None:
    return PdUser(id=user.id, email=user.email, name=user.name) if user else None


async def _names(pd: PagerDutyApi, what: str) -> tuple[PdNamed, ...]:
    if what == "priorities":
        # An account without the priorities feature: an empty list, not an error.
        return tuple(PdNamed(id=p.id, name=p.label) for p in await pd.priorities())
    return tuple(PdNamed(id=s.id, name=s.name or s.summary or s.id) for s in await pd.services())


def register_reads(broker: NatsBroker, clients: Mapping[str, PagerDutyApi]) -> None:
    """``reads.pd.<account>.user``, ``.users_by_email``, ``.services`` and ``.priorities``."""

    async def by_id(request: PdUserRead) -> PdUserReply:
        async def get(pd: PagerDutyApi) -> User | None:
            try:
                return await pd.get_user(request.user_id)
            except PagerDutyError as exc:
                if exc.status_code == 404:
                    return None  # no such user: an answer, not an error
                raise

        found = await read_from(clients, request.account, SPEC, "user", get)
        return (
            PdUserReply(error=found) if isinstance(found, str) else PdUserReply(user=_user(found))
        )

    async def by_email(request: PdUserSearch) -> PdUserReply:
        found = await read_from(
            clients,
            request.account,
            SPEC,
            "users_by_email",
            lambda pd: pd.users_by_email(request.email),
        )
        if isinstance(found, str):
            return PdUserReply(error=found)
        return PdUserReply(user=_user(found[0]) if found else None)

    def catalog_of(what: str) -> Callable[[PdCatalogRead], Awaitable[PdNamesReply]]:
        async def names(request: PdCatalogRead) -> PdNamesReply:
            if request.what != what:
                return PdNamesReply(
                    error=f"a PdCatalogRead of {request.what!r} was sent on {what!r}"
                )
            items = await read_from(
                clients, request.account, SPEC, what, lambda pd: _names(pd, what)
            )
            return (
                PdNamesReply(error=items) if isinstance(items, str) else PdNamesReply(items=items)
            )

        return names

    serve_read(broker, "reads.pd.*.user", by_id, queue=CONSUMER)
    serve_read(broker, "reads.pd.*.users_by_email", by_email, queue=CONSUMER)
    for what in ("services", "priorities"):
        serve_read(broker, f"reads.pd.*.{what}", catalog_of(what), queue=CONSUMER)
    register_change_reads(broker, clients)  # the reconciliation poller's
