"""Reads the jira-writer answers for other services, through the same clients (and so the same
rate limit) as its writes. Every failure is an answer with ``error`` saying what to do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar, get_args, get_type_hints

from pdjira_common.bus import Retryable
from pdjira_common.contracts import encode
from pdjira_common.logging import get_logger
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

from pdjira_jira_writer.errors import JiraError
from pdjira_jira_writer.jira_client import JiraApi
from pdjira_jira_writer.models import Named, Project

__all__ = ["CATALOGS", "JiraReads"]

# ``JiraCatalogRead.what``: each answered on ``reads.jira.<instance>.<what>``.
CATALOGS: tuple[str, ...] = get_args(get_type_hints(JiraCatalogRead)["what"])

T = TypeVar("T")
_log = get_logger(__name__)


def _named(items: tuple[Named, ...]) -> tuple[JiraNamed, ...]:
    return tuple(
        JiraNamed(id=i.id, name=i.name, category=i.statusCategory.key if i.statusCategory else None)
        for i in items
    )


class JiraReads:
    def __init__(self, clients: Mapping[str, JiraApi]) -> None:
        self._clients = clients

    def refused(self, what: str, error: str) -> bytes:
        _log.warning("read_refused", what=what, reason=error)
        return encode(JiraNamesReply(error=error))

    async def _run(
        self, instance: str, what: str, call: Callable[[JiraApi], Awaitable[T]]
    ) -> T | str:
        client = self._clients.get(instance)
        if client is None:
            return (
                f"unknown Jira instance '{instance}' (configured: {sorted(self._clients)}); "
                "ask for one of them"
            )
        try:
            return await call(client)
        except (JiraError, Retryable) as exc:
            _log.warning("read_failed", what=what, reason=str(exc))
            return str(exc)

    async def users(self, request: JiraUserSearch) -> bytes:
        result = await self._run(request.instance, "users", lambda c: c.users(request.query))
        if isinstance(result, str):
            return encode(JiraUsersReply(error=result))
        users = tuple(
            JiraUser(name=u.name, key=u.key, email=u.emailAddress, display_name=u.displayName)
            for u in result
        )
        return encode(JiraUsersReply(users=users))

    async def search(self, request: JiraSearchRead) -> bytes:
        result = await self._run(
            request.instance,
            "search",
            lambda c: c.search(request.jql, max_results=request.max_results),
        )
        if isinstance(result, str):
            return encode(JiraSearchReply(error=result))
        issues = tuple(JiraIssueSummary(id=i.id, key=i.key, status=i.status) for i in result.issues)
        return encode(JiraSearchReply(total=result.total, issues=issues))

    async def create_meta(self, request: JiraCreateMetaRead) -> bytes:
        result = await self._run(
            request.instance,
            "createmeta",
            lambda c: c.create_meta(request.project, request.issue_type),
        )
        if isinstance(result, str):
            return encode(JiraCreateMetaReply(error=result))
        fields = tuple(
            JiraFieldMeta(id=f.fieldId, name=f.name, required=f.required) for f in result
        )
        return encode(JiraCreateMetaReply(fields=fields))

    async def statuses(self, request: JiraStatusesRead) -> bytes:
        result = await self._run(request.instance, "statuses", lambda c: c.statuses())
        if isinstance(result, str):
            return encode(JiraNamesReply(error=result))
        return encode(JiraNamesReply(items=_named(result)))

    async def priorities(self, request: JiraPrioritiesRead) -> bytes:
        result = await self._run(request.instance, "priorities", lambda c: c.priorities())
        if isinstance(result, str):
            return encode(JiraNamesReply(error=result))
        return encode(JiraNamesReply(items=_named(result)))

    async def catalog(self, what: str, request: JiraCatalogRead) -> bytes:
        """``projects`` (with their key), ``issue_types``, ``resolutions`` or ``fields``."""
        if request.what != what:
            return self.refused(
                what, f"a JiraCatalogRead of {request.what!r} was sent on the {what!r} subject"
            )
        calls: dict[str, Callable[[JiraApi], Awaitable[tuple[Named, ...] | tuple[Project, ...]]]]
        calls = {
            "projects": lambda c: c.projects(),
            "issue_types": lambda c: c.issue_types(),
            "resolutions": lambda c: c.resolutions(),
            "fields": lambda c: c.fields(),
        }
        call = calls.get(what)
        if call is None:
            return self.refused(what, f"this jira-writer cannot list {what!r}; upgrade it")
        result = await self._run(request.instance, what, call)
        if isinstance(result, str):
            return encode(JiraNamesReply(error=result))
        items = tuple(
            JiraNamed(id=i.id, name=i.name, key=i.key)
            if isinstance(i, Project)
            else JiraNamed(id=i.id, name=i.name)
            for i in result
        )
        return encode(JiraNamesReply(items=items))
