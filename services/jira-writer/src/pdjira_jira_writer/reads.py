"""Reads the jira-writer answers for other services, through the same clients (and so the same
rate limit) as its writes. Every failure is an answer with ``error`` saying what to do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar, get_args, get_type_hints

from pdjira_common.requests import (
    JiraCatalogRead,
    JiraCreateMetaRead,
    JiraCreateMetaReply,
    JiraFieldMeta,
    JiraIssueSummary,
    JiraNamed,
    JiraNamesReply,
    JiraPrioritiesRead,
    JiraSearchRead,
    JiraSearchReply,
    JiraStatusesRead,
    JiraUser,
    JiraUserSearch,
    JiraUsersReply,
)
from pdjira_writer.reads import read_from

from pdjira_jira_writer.jira_client import JiraApi
from pdjira_jira_writer.models import Named, Project
from pdjira_jira_writer.spec import SPEC

__all__ = ["CATALOGS", "JiraReads"]

# ``JiraCatalogRead.what``: each answered on ``reads.jira.<instance>.<what>``.
CATALOGS: tuple[str, ...] = get_args(get_type_hints(JiraCatalogRead)["what"])

T = TypeVar("T")
_LISTS: dict[str, Callable[[JiraApi], Awaitable[tuple[Named, ...] | tuple[Project, ...]]]] = {
    "projects": lambda c: c.projects(),
    "issue_types": lambda c: c.issue_types(),
    "resolutions": lambda c: c.resolutions(),
    "fields": lambda c: c.fields(),
}


def _named(items: tuple[Named, ...]) -> tuple[JiraNamed, ...]:
    return tuple(
        JiraNamed(id=i.id, name=i.name, category=i.statusCategory.key if i.statusCategory else None)
        for i in items
    )


class JiraReads:
    def __init__(self, clients: Mapping[str, JiraApi]) -> None:
        self._clients = clients

    async def _run(
        self, instance: str, what: str, call: Callable[[JiraApi], Awaitable[T]]
    ) -> T | str:
        return await read_from(self._clients, instance, SPEC, what, call)

    async def users(self, request: JiraUserSearch) -> JiraUsersReply:
        result = await self._run(request.instance, "users", lambda c: c.users(request.query))
        if isinstance(result, str):
            return JiraUsersReply(error=result)
        users = tuple(
            JiraUser(name=u.name, key=u.key, email=u.emailAddress, display_name=u.displayName)
            for u in result
        )
        return JiraUsersReply(users=users)

    async def search(self, request: JiraSearchRead) -> JiraSearchReply:
        result = await self._run(
            request.instance,
            "search",
            lambda c: c.search(request.jql, max_results=request.max_results),
        )
        if isinstance(result, str):
            return JiraSearchReply(error=result)
        issues = tuple(JiraIssueSummary(id=i.id, key=i.key, status=i.status) for i in result.issues)
        return JiraSearchReply(total=result.total, issues=issues)

    async def create_meta(self, request: JiraCreateMetaRead) -> JiraCreateMetaReply:
        result = await self._run(
            request.instance,
            "createmeta",
            lambda c: c.create_meta(request.project, request.issue_type),
        )
        if isinstance(result, str):
            return JiraCreateMetaReply(error=result)
        fields = tuple(
            JiraFieldMeta(id=f.fieldId, name=f.name, required=f.required) for f in result
        )
        return JiraCreateMetaReply(fields=fields)

    async def statuses(self, request: JiraStatusesRead) -> JiraNamesReply:
        result = await self._run(request.instance, "statuses", lambda c: c.statuses())
        if isinstance(result, str):
            return JiraNamesReply(error=result)
        return JiraNamesReply(items=_named(result))

    async def priorities(self, request: JiraPrioritiesRead) -> JiraNamesReply:
        result = await self._run(request.instance, "priorities", lambda c: c.priorities())
        if isinstance(result, str):
            return JiraNamesReply(error=result)
        return JiraNamesReply(items=_named(result))

    def catalog_of(self, what: str) -> Callable[[JiraCatalogRead], Awaitable[JiraNamesReply]]:
        """The answer on ``reads.jira.<instance>.<what>`` for one of the :data:`CATALOGS`."""

        async def answer(request: JiraCatalogRead) -> JiraNamesReply:
            return await self.catalog(what, request)

        return answer

    async def catalog(self, what: str, request: JiraCatalogRead) -> JiraNamesReply:
        """``projects`` (with their key), ``issue_types``, ``resolutions`` or ``fields``."""
        if request.what != what:
            return JiraNamesReply(
                error=f"a JiraCatalogRead of {request.what!r} was sent on the {what!r} subject"
            )
        call = _LISTS.get(what)
        if call is None:
            return JiraNamesReply(error=f"this jira-writer cannot list {what!r}; upgrade it")
        result = await self._run(request.instance, what, call)
        if isinstance(result, str):
            return JiraNamesReply(error=result)
        items = tuple(
            JiraNamed(id=i.id, name=i.name, key=i.key)
            if isinstance(i, Project)
            else JiraNamed(id=i.id, name=i.name)
            for i in result
        )
        return JiraNamesReply(items=items)
