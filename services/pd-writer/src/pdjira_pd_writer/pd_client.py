"""PagerDuty REST v2 over httpx: one client per configured account, behind a protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

import httpx
import msgspec
from pdjira_common.bus import Retryable
from pdjira_common.config import PagerDutyAccount
from pdjira_common.ratelimit import Pacer

from pdjira_pd_writer.errors import (
    PagerDutyError,
    classify_response,
    classify_transport_error,
    pause_seconds,
)
from pdjira_pd_writer.metrics import PdWriterMetrics
from pdjira_pd_writer.models import (
    IncidentBody,
    IncidentList,
    IncidentSnapshot,
    IncidentStatus,
    Note,
    NoteBody,
    Priority,
    PriorityList,
    Service,
    ServiceList,
    User,
    UserBody,
    UserList,
)

__all__ = ["HttpPagerDutyClient", "PagerDutyApi"]

ACCEPT = "application/vnd.pagerduty+json;version=2"
T = TypeVar("T")
Page = TypeVar("Page", PriorityList, ServiceList)
_TRIES_ON_429 = 3
_PAGE = 100  # PagerDuty's largest page (classic pagination)
_MAX_PAGES = 100  # offset + limit stays within PagerDuty's 10000
# No priorities on the account's plan: 404 (the feature is off) or 402 (no such ability).
_NO_PRIORITIES = (402, 404)


class PagerDutyApi(Protocol):
    """What the writer needs from a PagerDuty account; raises Retryable or PagerDutyError.

    Writes take ``from_email``: the user PagerDuty records as having acted."""

    account: str
    from_email: str

    async def get_incident(self, incident_id: str) -> IncidentSnapshot: ...

    async def update_incident_status(
        self, incident_id: str, status: IncidentStatus, *, from_email: str
    ) -> IncidentSnapshot: ...

    async def update_incident_fields(
        self,
        incident_id: str,
        *,
        priority_id: str | None,
        urgency: str | None,
        from_email: str,
    ) -> IncidentSnapshot: ...

    async def request_responders(
        self, incident_id: str, *, requester_id: str, user_ids: tuple[str, ...], message: str
    ) -> None: ...

    async def add_note(self, incident_id: str, content: str, *, from_email: str) -> Note: ...

    async def incidents_by_key(self, incident_key: str) -> tuple[IncidentSnapshot, ...]: ...

    async def create_incident(
        self,
        *,
        service_id: str,
        title: str,
        details: str,
        incident_key: str,
        urgency: str | None,
        from_email: str,
        priority_id: str | None = None,
    ) -> IncidentSnapshot: ...

    async def get_user(self, user_id: str) -> User: ...

    async def users_by_email(self, email: str) -> tuple[User, ...]: ...

    async def priorities(self) -> tuple[Priority, ...]: ...

    async def services(self) -> tuple[Service, ...]: ...

    async def aclose(self) -> None: ...


class HttpPagerDutyClient:
    """``PagerDutyApi`` over HTTP with the account's API token."""

    def __init__(
        self,
        account: PagerDutyAccount,
        *,
        timeout: float,
        metrics: PdWriterMetrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        replicas: int = 1,
        max_wait: float = 60.0,
    ) -> None:
        self.account = account.id
        self.from_email = account.from_email
        self._metrics = metrics
        # One pacer per token: commands and reads for others share PagerDuty's budget.
        limit = account.rate_limit
        self.pacer = Pacer(
            rate=limit.requests_per_second, burst=limit.burst, replicas=replicas, max_wait=max_wait
        )
        self._http = httpx.AsyncClient(
            base_url=account.api_url.rstrip("/"),
            headers={
                "Accept": ACCEPT,
                "Authorization": f"Token token={account.token.reveal()}",
            },
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    async def get_incident(self, incident_id: str) -> IncidentSnapshot:
        what = f"get incident {incident_id}"
        response = await self._call("GET", f"/incidents/{incident_id}", what=what)
        return self._decode(response, IncidentBody, what=what).incident

    async def update_incident_status(
        self, incident_id: str, status: IncidentStatus, *, from_email: str
    ) -> IncidentSnapshot:
        what = f"set incident {incident_id} to {status}"
        response = await self._call(
            "PUT",
            f"/incidents/{incident_id}",
            what=what,
            json={"incident": {"type": "incident_reference", "status": status}},
            # Required on incident writes: the user PagerDuty records as having acted.
            headers={"From": from_email},
        )
        return self._decode(response, IncidentBody, what=what).incident

    async def update_incident_fields(
        self,
        incident_id: str,
        *,
        priority_id: str | None,
        urgency: str | None,
        from_email: str,
    ) -> IncidentSnapshot:
        incident: dict[str, Any] = {"type": "incident_reference"}
        if priority_id is not None:
            incident["priority"] = {"id": priority_id, "type": "priority_reference"}
        if urgency is not None:
            incident["urgency"] = urgency
        what = f"set {', '.join(k for k in incident if k != 'type')} of incident {incident_id}"
        response = await self._call(
            "PUT",
            f"/incidents/{incident_id}",
            what=what,
            json={"incident": incident},
            headers={"From": from_email},
        )
        return self._decode(response, IncidentBody, what=what).incident

    async def request_responders(
        self, incident_id: str, *, requester_id: str, user_ids: tuple[str, ...], message: str
    ) -> None:
        # No `From` here: the requester is named in the body (the spec lists no From header).
        await self._call(
            "POST",
            f"/incidents/{incident_id}/responder_requests",
            what=f"request responders for incident {incident_id}",
            json={
                "requester_id": requester_id,
                "message": message,
                "responder_request_targets": [
                    {"responder_request_target": {"id": uid, "type": "user_reference"}}
                    for uid in user_ids
                ],
            },
        )

    async def add_note(self, incident_id: str, content: str, *, from_email: str) -> Note:
        what = f"add a note to incident {incident_id}"
        response = await self._call(
            "POST",
            f"/incidents/{incident_id}/notes",
            what=what,
            json={"note": {"content": content}},
            headers={"From": from_email},
        )
        return self._decode(response, NoteBody, what=what).note

    async def incidents_by_key(self, incident_key: str) -> tuple[IncidentSnapshot, ...]:
        what = f"find incidents with incident_key {incident_key}"
        # Every status, over PagerDuty's widest window: an old resolved one is still ours.
        params = {"incident_key": incident_key, "date_range": "all", "limit": "100"}
        response = await self._call("GET", "/incidents", what=what, params=params)
        return self._decode(response, IncidentList, what=what).incidents

    async def create_incident(
        self,
        *,
        service_id: str,
        title: str,
        details: str,
        incident_key: str,
        urgency: str | None,
        from_email: str,
        priority_id: str | None = None,
    ) -> IncidentSnapshot:
        what = f"create an incident with incident_key {incident_key}"
        incident: dict[str, Any] = {
            "type": "incident",
            "title": title,
            "service": {"id": service_id, "type": "service_reference"},
            "incident_key": incident_key,
            "body": {"type": "incident_body", "details": details},
        }
        if urgency:
            incident["urgency"] = urgency
        if priority_id:
            incident["priority"] = {"id": priority_id, "type": "priority_reference"}
        response = await self._call(
            "POST",
            "/incidents",
            what=what,
            json={"incident": incident},
            headers={"From": from_email},
        )
        return self._decode(response, IncidentBody, what=what).incident

    async def get_user(self, user_id: str) -> User:
        what = f"get user {user_id}"
        response = await self._call("GET", f"/users/{user_id}", what=what)
        return self._decode(response, UserBody, what=what).user

    async def users_by_email(self, email: str) -> tuple[User, ...]:
        response = await self._call(
            "GET", "/users", what="search users", params={"query": email, "limit": "100"}
        )
        found = self._decode(response, UserList, what="search users").users
        return tuple(u for u in found if (u.email or "").casefold() == email.casefold())

    async def priorities(self) -> tuple[Priority, ...]:
        """Every priority, most severe first; none when the account has no priorities."""
        try:
            pages = await self._pages("/priorities", PriorityList, what="list priorities")
        except PagerDutyError as exc:
            if exc.status_code in _NO_PRIORITIES:
                return ()
            raise
        return tuple(p for page in pages for p in page.priorities)

    async def services(self) -> tuple[Service, ...]:
        pages = await self._pages("/services", ServiceList, what="list services")
        return tuple(s for page in pages for s in page.services)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _pages(self, path: str, type_: type[Page], *, what: str) -> list[Page]:
        """Every page of a classic-paginated list (``limit``/``offset`` until ``more`` ends)."""
        pages: list[Page] = []
        for number in range(_MAX_PAGES):
            params = {"limit": str(_PAGE), "offset": str(number * _PAGE)}
            response = await self._call("GET", path, what=what, params=params)
            page = self._decode(response, type_, what=what)
            pages.append(page)
            if not page.more:
                break
        return pages

    async def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        # A 429 pauses this token until ratelimit-reset (nothing is sent meanwhile), then the
        # same call is tried again here.
        for attempt in range(1, _TRIES_ON_429 + 1):
            await self.pacer.acquire(what)
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
            except httpx.HTTPError as exc:
                self._count(method, "error")
                raise classify_transport_error(exc, what=what, account=self.account) from exc
            self._count(method, str(response.status_code))
            self.pacer.pause(pause_seconds(response.status_code, response.headers))
            if response.status_code == httpx.codes.TOO_MANY_REQUESTS and attempt < _TRIES_ON_429:
                continue
            problem = classify_response(
                response.status_code,
                response.headers,
                response.content,
                what=what,
                account=self.account,
            )
            if problem is not None:
                raise problem
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _decode(self, response: httpx.Response, type_: type[T], *, what: str) -> T:
        try:
            return msgspec.json.decode(response.content, type=type_)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise Retryable(
                f"PagerDuty account '{self.account}' answered {what} with an unexpected body: {exc}"
            ) from exc

    def _count(self, method: str, status: str) -> None:
        if self._metrics is not None:
            self._metrics.pd_requests.labels(self.account, method, status).inc()
