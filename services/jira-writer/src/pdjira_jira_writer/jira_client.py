"""Jira Server/DC REST v2 over httpx: one client per configured instance, behind a protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import httpx
import msgspec
from pdjira_common.bus import Retryable
from pdjira_common.config import JiraInstance

from pdjira_jira_writer.errors import (
    classify_response,
    classify_transport_error,
    pause_seconds,
)
from pdjira_jira_writer.metrics import JiraWriterMetrics
from pdjira_jira_writer.models import (
    CreatedIssue,
    IssueSnapshot,
    SearchResults,
    Transition,
    TransitionList,
)
from pdjira_jira_writer.throttle import Throttle

__all__ = ["HttpJiraClient", "JiraApi"]

T = TypeVar("T")
# Only what the writer reads: smaller answers, and `labels` for the idempotency check.
_ISSUE_FIELDS = "status,labels"


class JiraApi(Protocol):
    """What the writer needs from a Jira instance; raises Retryable or JiraError on failure."""

    instance: str

    async def create_issue(
        self, fields: Mapping[str, Any], properties: Sequence[Mapping[str, Any]]
    ) -> CreatedIssue: ...

    async def get_issue(self, id_or_key: str) -> IssueSnapshot: ...

    async def search(self, jql: str, *, max_results: int = 10) -> SearchResults: ...

    async def get_transitions(self, id_or_key: str) -> tuple[Transition, ...]: ...

    async def transition(
        self, id_or_key: str, transition_id: str, fields: Mapping[str, Any]
    ) -> None: ...

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
    ) -> None:
        self.instance = instance.id
        self._metrics = metrics
        # Waiting inline for the rate limit is fine as long as it stays well inside ack_wait.
        self._throttle = Throttle(max_inline_wait=min(timeout, 5.0))
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
        await self._throttle.before_request(what)
        try:
            response = await self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as exc:
            self._count(method, "error")
            raise classify_transport_error(exc, what=what, instance=self.instance) from exc
        self._count(method, str(response.status_code))
        self._throttle.pause(pause_seconds(response.status_code, response.headers))
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
