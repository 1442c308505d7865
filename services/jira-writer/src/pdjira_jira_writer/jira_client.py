"""Jira Server/DC REST v2 over httpx: one client per configured instance, behind a protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import httpx
import msgspec
from pdjira_common.bus import Retryable
from pdjira_common.config import JiraInstance
from pdjira_common.ratelimit import Pacer

from pdjira_jira_writer.errors import (
    classify_response,
    classify_transport_error,
    pause_seconds,
    server_rate,
)
from pdjira_jira_writer.metrics import JiraWriterMetrics
from pdjira_jira_writer.models import (
    Comment,
    CreatedIssue,
    FieldMeta,
    FieldMetaPage,
    IssueSnapshot,
    IssueValues,
    Named,
    Project,
    SearchResults,
    Transition,
    TransitionList,
    User,
)

__all__ = ["HttpJiraClient", "JiraApi"]

T = TypeVar("T")
_TRIES_ON_429 = 3
# Only what the writer reads: smaller answers, and `labels` for the idempotency check.
_ISSUE_FIELDS = "status,labels"


class JiraApi(Protocol):
    """What the writer needs from a Jira instance; raises Retryable or JiraError on failure."""

    instance: str

    async def create_issue(
        self, fields: Mapping[str, Any], properties: Sequence[Mapping[str, Any]]
    ) -> CreatedIssue: ...

    async def get_issue(self, id_or_key: str) -> IssueSnapshot: ...

    async def get_issue_values(self, id_or_key: str, fields: Sequence[str]) -> IssueValues: ...

    async def update_issue(self, id_or_key: str, fields: Mapping[str, Any]) -> None: ...

    async def search(self, jql: str, *, max_results: int = 10) -> SearchResults: ...

    async def get_transitions(self, id_or_key: str) -> tuple[Transition, ...]: ...

    async def transition(
        self, id_or_key: str, transition_id: str, fields: Mapping[str, Any]
    ) -> None: ...

    async def add_comment(self, id_or_key: str, body: str) -> Comment: ...

    async def statuses(self) -> tuple[Named, ...]: ...

    async def priorities(self) -> tuple[Named, ...]: ...

    async def projects(self) -> tuple[Project, ...]: ...

    async def issue_types(self) -> tuple[Named, ...]: ...

    async def resolutions(self) -> tuple[Named, ...]: ...

    async def fields(self) -> tuple[Named, ...]: ...

    async def create_meta(self, project: str, issue_type: str) -> tuple[FieldMeta, ...]: ...

    async def users(self, query: str) -> tuple[User, ...]: ...

    async def aclose(self) -> None: ...


class HttpJiraClient:
    """``JiraApi`` over HTTP. Auth is basic or a personal access token (``Bearer``)."""

    def __init__(
        self,
        instance: JiraInstance,
        *,
        timeout: float,
        metrics: JiraWriterMetrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        replicas: int = 1,
        max_wait: float = 60.0,
    ) -> None:
        self.instance = instance.id
        self._metrics = metrics
        # Every call to this instance (commands and reads for others) goes through one pacer;
        # the lanes keep the command's ack timer alive while it waits.
        limit = instance.rate_limit
        self.pacer = Pacer(
            rate=limit.requests_per_second,
            burst=limit.burst,
            replicas=replicas,
            max_wait=max_wait,
        )
        headers = {
            "Accept": "application/json",
            # Jira's XSRF check rejects REST writes without it (as every Jira client sends it).
            "X-Atlassian-Token": "no-check",
        }
        auth: httpx.Auth | None = None
        credentials = instance.auth
        if credentials.type == "token" and credentials.token is not None:
            headers["Authorization"] = f"Bearer {credentials.token.reveal()}"
        elif credentials.username is not None and credentials.password is not None:
            auth = httpx.BasicAuth(credentials.username, credentials.password.reveal())
        self._http = httpx.AsyncClient(
            base_url=instance.base_url,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    async def create_issue(
        self, fields: Mapping[str, Any], properties: Sequence[Mapping[str, Any]]
    ) -> CreatedIssue:
        body: dict[str, Any] = {"fields": dict(fields)}
        if properties:
            body["properties"] = [dict(p) for p in properties]
        response = await self._call("POST", "/rest/api/2/issue", what="create issue", json=body)
        return self._decode(response, CreatedIssue, what="create issue")

    async def get_issue(self, id_or_key: str) -> IssueSnapshot:
        what = f"get issue {id_or_key}"
        response = await self._call(
            "GET", f"/rest/api/2/issue/{id_or_key}", what=what, params={"fields": _ISSUE_FIELDS}
        )
        return self._decode(response, IssueSnapshot, what=what)

    async def get_issue_values(self, id_or_key: str, fields: Sequence[str]) -> IssueValues:
        what = f"get issue {id_or_key}"
        response = await self._call(
            "GET",
            f"/rest/api/2/issue/{id_or_key}",
            what=what,
            params={"fields": ",".join(dict.fromkeys(fields))},
        )
        return self._decode(response, IssueValues, what=what)

    async def update_issue(self, id_or_key: str, fields: Mapping[str, Any]) -> None:
        await self._call(
            "PUT",
            f"/rest/api/2/issue/{id_or_key}",
            what=f"edit issue {id_or_key}",
            json={"fields": dict(fields)},
        )

    async def search(self, jql: str, *, max_results: int = 10) -> SearchResults:
        # POST: the JQL never has to fit in a URL, and nothing of it lands in access logs.
        body = {"jql": jql, "maxResults": max_results, "fields": _ISSUE_FIELDS.split(",")}
        response = await self._call("POST", "/rest/api/2/search", what="search", json=body)
        return self._decode(response, SearchResults, what="search")

    async def get_transitions(self, id_or_key: str) -> tuple[Transition, ...]:
        what = f"list transitions of {id_or_key}"
        response = await self._call(
            "GET",
            f"/rest/api/2/issue/{id_or_key}/transitions",
            what=what,
            params={"expand": "transitions.fields"},
        )
        return self._decode(response, TransitionList, what=what).transitions

    async def transition(
        self, id_or_key: str, transition_id: str, fields: Mapping[str, Any]
    ) -> None:
        body: dict[str, Any] = {"transition": {"id": transition_id}}
        if fields:
            body["fields"] = dict(fields)
        await self._call(
            "POST",
            f"/rest/api/2/issue/{id_or_key}/transitions",
            what=f"transition {id_or_key}",
            json=body,
        )

    async def add_comment(self, id_or_key: str, body: str) -> Comment:
        what = f"comment on {id_or_key}"
        response = await self._call(
            "POST", f"/rest/api/2/issue/{id_or_key}/comment", what=what, json={"body": body}
        )
        return self._decode(response, Comment, what=what)

    async def statuses(self) -> tuple[Named, ...]:
        response = await self._call("GET", "/rest/api/2/status", what="list statuses")
        return self._decode(response, tuple[Named, ...], what="list statuses")

    async def priorities(self) -> tuple[Named, ...]:
        response = await self._call("GET", "/rest/api/2/priority", what="list priorities")
        return self._decode(response, tuple[Named, ...], what="list priorities")

    async def projects(self) -> tuple[Project, ...]:
        response = await self._call("GET", "/rest/api/2/project", what="list projects")
        return self._decode(response, tuple[Project, ...], what="list projects")

    async def issue_types(self) -> tuple[Named, ...]:
        response = await self._call("GET", "/rest/api/2/issuetype", what="list issue types")
        return self._decode(response, tuple[Named, ...], what="list issue types")

    async def resolutions(self) -> tuple[Named, ...]:
        response = await self._call("GET", "/rest/api/2/resolution", what="list resolutions")
        return self._decode(response, tuple[Named, ...], what="list resolutions")

    async def fields(self) -> tuple[Named, ...]:
        response = await self._call("GET", "/rest/api/2/field", what="list fields")
        return self._decode(response, tuple[Named, ...], what="list fields")

    async def create_meta(self, project: str, issue_type: str) -> tuple[FieldMeta, ...]:
        what = f"create metadata of {project}/{issue_type}"
        response = await self._call(
            "GET",
            f"/rest/api/2/issue/createmeta/{project}/issuetypes/{issue_type}",
            what=what,
            params={"maxResults": "1000"},
        )
        return self._decode(response, FieldMetaPage, what=what).values

    async def users(self, query: str) -> tuple[User, ...]:
        response = await self._call(
            "GET", "/rest/api/2/user/search", what="search users", params={"username": query}
        )
        return self._decode(response, tuple[User, ...], what="search users")

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        # A 429 pauses this instance (no request goes out until Retry-After has passed), then
        # the same call is tried again here: the command keeps its other calls' work.
        for attempt in range(1, _TRIES_ON_429 + 1):
            await self.pacer.acquire(what)
            try:
                response = await self._http.request(method, path, params=params, json=json)
            except httpx.HTTPError as exc:
                self._count(method, "error")
                raise classify_transport_error(exc, what=what, instance=self.instance) from exc
            self._count(method, str(response.status_code))
            self.pacer.observe_limit(server_rate(response.headers))
            self.pacer.pause(pause_seconds(response.status_code, response.headers))
            if response.status_code == httpx.codes.TOO_MANY_REQUESTS and attempt < _TRIES_ON_429:
                continue
            problem = classify_response(
                response.status_code,
                response.headers,
                response.content,
                what=what,
                instance=self.instance,
            )
            if problem is not None:
                raise problem
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _decode(self, response: httpx.Response, type_: type[T], *, what: str) -> T:
        try:
            return msgspec.json.decode(response.content, type=type_)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            # A proxy's HTML page or a half-written answer: likely to pass on a later try.
            raise Retryable(
                f"Jira instance '{self.instance}' answered {what} with an unexpected body: {exc}"
            ) from exc

    def _count(self, method: str, status: str) -> None:
        if self._metrics is not None:
            self._metrics.jira_requests.labels(self.instance, method, status).inc()
