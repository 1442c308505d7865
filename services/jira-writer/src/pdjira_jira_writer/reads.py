"""Reads the jira-writer answers for other services, through the same clients (and so the same
rate limit) as its writes. Every failure is an answer with ``error`` saying what to do."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, get_args, get_type_hints, runtime_checkable

import msgspec
from pdjira_common.contracts import FieldChange
from pdjira_common.facts import JiraUser as JiraUserFacts
from pdjira_common.facts import read_issue_fields, read_jira_user
from pdjira_common.jira_zone import JiraTimeZoneRead, JiraTimeZoneReply
from pdjira_common.requests import (
    JiraCatalogRead,
    JiraChangesRead,
    JiraChangesReply,
    JiraCommentChange,
    JiraCreateMetaRead,
    JiraCreateMetaReply,
    JiraFieldMeta,
    JiraHistory,
    JiraIssueChanges,
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
from pdjira_writer.errors import Refused
from pdjira_writer.reads import read_from

from pdjira_jira_writer.jira_client import JiraApi
from pdjira_jira_writer.models import (
    ChangedIssue,
    ChangedIssuePage,
    Named,
    Project,
    SearchResults,
    User,
)
from pdjira_jira_writer.spec import SPEC

__all__ = ["CATALOGS", "JiraChangesApi", "JiraReads", "changes_jql", "issue_changes"]

# ``JiraCatalogRead.what``: each answered on ``reads.jira.<instance>.<what>``.
CATALOGS: tuple[str, ...] = get_args(get_type_hints(JiraCatalogRead)["what"])

T = TypeVar("T")
_LISTS: dict[str, Callable[[JiraApi], Awaitable[tuple[Named, ...] | tuple[Project, ...]]]] = {
    "projects": lambda c: c.projects(),
    "issue_types": lambda c: c.issue_types(),
    "resolutions": lambda c: c.resolutions(),
    "fields": lambda c: c.fields(),
}


class _Rejected(msgspec.Struct, frozen=True):
    """Jira answered a search 400: its JQL is refused (``reason``: Jira's words)."""

    reason: str


def _custom_type(item: Named) -> str | None:
    return item.schema.custom if item.schema is not None else None


def _named(items: tuple[Named, ...]) -> tuple[JiraNamed, ...]:
    return tuple(
        JiraNamed(id=i.id, name=i.name, category=i.statusCategory.key if i.statusCategory else None)
        for i in items
    )


class JiraReads:
    def __init__(self, clients: Mapping[str, JiraApi]) -> None:
        self._clients = clients
        self._myself: dict[str, User] = {}  # per instance: the user its client acts as

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
        async def search(client: JiraApi) -> SearchResults | _Rejected:
            try:
                return await client.search(request.jql, max_results=request.max_results)
            except Refused as exc:
                if exc.status_code == 400:  # the JQL itself: asking again will not help
                    return _Rejected(exc.reason)
                raise

        result = await self._run(request.instance, "search", search)
        if isinstance(result, _Rejected):
            return JiraSearchReply(error=result.reason, rejected=True)
        if isinstance(result, str):
            return JiraSearchReply(error=result)
        issues = tuple(JiraIssueSummary(id=i.id, key=i.key, status=i.status) for i in result.issues)
        return JiraSearchReply(total=result.total, issues=issues)

    async def time_zone(self, request: JiraTimeZoneRead) -> JiraTimeZoneReply:
        """The integration user's time zone (``GET /myself`` ``timeZone``): the zone Jira reads
        absolute JQL dates in for pdjira's searches."""

        async def read(client: JiraApi) -> User:
            acting = getattr(client, "acting_user", None)
            if acting is None:
                raise TypeError("this Jira client cannot read the acting user")
            user: User = await acting()
            return user

        result = await self._run(request.instance, "myself", read)
        if isinstance(result, str):
            return JiraTimeZoneReply(error=result)
        return JiraTimeZoneReply(time_zone=result.timeZone or None)

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
            else JiraNamed(id=i.id, name=i.name, custom_type=_custom_type(i))
            for i in result
        )
        return JiraNamesReply(items=items)

    async def changes(self, request: JiraChangesRead) -> JiraChangesReply:
        """Issues updated since ``request.since`` with their histories and comments since then
        (the reconciliation poller's read), one page, within a NATS reply's size."""
        try:
            since = _instant(request.since)
        except ValueError:
            return JiraChangesReply(error=f"since {request.since[:64]!r} is not an ISO 8601 time")
        # Relative to Jira's clock (a literal date would be read in the user's time zone);
        # one minute more for clock skew, and the answer is cut to `since` here.
        minutes = math.ceil((datetime.now(UTC) - since).total_seconds() / 60) + 1
        jql = changes_jql(request.projects, max(minutes, 1))
        size = min(max(request.max_results, 1), 100)

        async def read(client: JiraApi) -> tuple[ChangedIssuePage, User]:
            if not isinstance(client, JiraChangesApi):
                raise TypeError("this Jira client cannot list changed issues")
            me = self._myself.get(request.instance) or await client.acting_user()
            self._myself[request.instance] = me
            return await client.changed_issues(jql, start_at=request.start_at, max_results=size), me

        result = await self._run(request.instance, "changes", read)
        if isinstance(result, str):
            return JiraChangesReply(error=result)
        page, me = result
        issues = [issue_changes(issue, since) for issue in page.issues]
        myself = read_jira_user(_user_json(me))
        return _within_budget(issues, request.start_at, page, myself)


@runtime_checkable
class JiraChangesApi(Protocol):
    """The reads of a Jira client the reconciliation poller needs."""

    async def changed_issues(
        self, jql: str, *, start_at: int, max_results: int
    ) -> ChangedIssuePage: ...

    async def myself(self) -> User: ...


# A NATS reply must stay under the server's max_payload (1 MiB by default).
REPLY_BUDGET = 512 * 1024


def _instant(text: str) -> datetime:
    """An ISO 8601 time as Jira or we write it (``+0000`` offsets too), in UTC."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _since(text: object, since: datetime) -> bool:
    try:
        return isinstance(text, str) and _instant(text) >= since
    except ValueError:
        return True  # an odd time is kept: the poller decides, nothing is lost here


def _quoted(value: str) -> str:
    """A JQL string literal (backslashes and quotes escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def changes_jql(projects: tuple[str, ...], minutes: int) -> str:
    """``project in (...) AND updated >= "-Nm" ORDER BY updated ASC`` (no projects: all)."""
    where = f'updated >= "-{minutes}m"'
    if projects:
        where = f"project in ({', '.join(_quoted(p) for p in projects)}) AND {where}"
    return f"{where} ORDER BY updated ASC"


def _text(value: str | int | None) -> str | None:
    return None if value is None else str(value)


def _user_json(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "key": user.key,
        "emailAddress": user.emailAddress,
        "displayName": user.displayName,
    }


def issue_changes(issue: ChangedIssue, since: datetime) -> JiraIssueChanges:
    """An issue as the poller needs it: typed fields, histories and comments since ``since``."""
    histories = tuple(
        JiraHistory(
            id=h.id,
            created=h.created,
            author=read_jira_user(h.author),
            items=tuple(
                FieldChange(
                    field=i.field,
                    from_value=_text(i.from_),
                    from_string=i.fromString,
                    to_value=_text(i.to),
                    to_string=i.toString,
                )
                for i in h.items
            ),
        )
        for h in (issue.changelog.histories if issue.changelog else ())
        if _since(h.created, since)
    )
    comment_field = issue.fields.get("comment")
    raw_comments = comment_field.get("comments") if isinstance(comment_field, dict) else None
    comments = tuple(
        JiraCommentChange(
            id=str(c["id"]),
            body=str(c.get("body") or ""),
            created=str(c["created"]),
            author=read_jira_user(c.get("author")),
        )
        for c in (raw_comments if isinstance(raw_comments, list) else [])
        if isinstance(c, dict) and "id" in c and _since(c.get("created"), since)
    )
    return JiraIssueChanges(
        id=issue.id,
        key=issue.key,
        fields=read_issue_fields(issue.fields),
        histories=histories,
        comments=comments,
    )


def _within_budget(
    issues: list[JiraIssueChanges],
    start_at: int,
    page: ChangedIssuePage,
    myself: JiraUserFacts | None,
) -> JiraChangesReply:
    """The page, cut from its end until it fits :data:`REPLY_BUDGET` (one issue at least);
    ``next_start_at`` then points at the first issue left out."""
    kept = len(issues)
    while True:
        after = start_at + kept
        more = after < page.total and kept > 0
        reply = JiraChangesReply(
            issues=tuple(issues[:kept]), next_start_at=after if more else None, myself=myself
        )
        if kept <= 1 or len(msgspec.json.encode(reply)) <= REPLY_BUDGET:
            return reply
        kept //= 2
