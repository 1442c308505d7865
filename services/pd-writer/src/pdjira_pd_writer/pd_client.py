"""PagerDuty REST v2 over httpx: one client per configured account, behind a protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx
import msgspec
from pdjira_common.bus import Retryable
from pdjira_common.config import PagerDutyAccount

from pdjira_pd_writer.errors import (
    classify_response,
    classify_transport_error,
    pause_seconds,
)
from pdjira_pd_writer.metrics import PdWriterMetrics
from pdjira_pd_writer.models import IncidentBody, IncidentSnapshot, IncidentStatus
from pdjira_pd_writer.throttle import Throttle

__all__ = ["HttpPagerDutyClient", "PagerDutyApi"]

ACCEPT = "application/vnd.pagerduty+json;version=2"


class PagerDutyApi(Protocol):
    """What the writer needs from a PagerDuty account; raises Retryable or PagerDutyError."""

    account: str

    async def get_incident(self, incident_id: str) -> IncidentSnapshot: ...

    async def update_incident_status(
        self, incident_id: str, status: IncidentStatus
    ) -> IncidentSnapshot: ...

    async def aclose(self) -> None: ...


class HttpPagerDutyClient:
    """``PagerDutyApi`` over HTTP with the account's API token; writes carry ``From``."""

    def __init__(
        self,
        account: PagerDutyAccount,
        *,
        timeout: float,
        metrics: PdWriterMetrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.account = account.id
        self._from = account.from_email
        self._metrics = metrics
        # Waiting inline for the rate limit is fine as long as it stays well inside ack_wait.
        self._throttle = Throttle(max_inline_wait=min(timeout, 5.0))
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
        return self._decode(response, what=what)

    async def update_incident_status(
        self, incident_id: str, status: IncidentStatus
    ) -> IncidentSnapshot:
        what = f"set incident {incident_id} to {status}"
        response = await self._call(
            "PUT",
            f"/incidents/{incident_id}",
            what=what,
            json={"incident": {"type": "incident_reference", "status": status}},
            # Required on incident writes: the user PagerDuty records as having acted.
            headers={"From": self._from},
        )
        return self._decode(response, what=what)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        await self._throttle.before_request(what)
        try:
            response = await self._http.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as exc:
            self._count(method, "error")
            raise classify_transport_error(exc, what=what, account=self.account) from exc
        self._count(method, str(response.status_code))
        self._throttle.pause(pause_seconds(response.status_code, response.headers))
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

    def _decode(self, response: httpx.Response, *, what: str) -> IncidentSnapshot:
        try:
            return msgspec.json.decode(response.content, type=IncidentBody).incident
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise Retryable(
                f"PagerDuty account '{self.account}' answered {what} with an unexpected body: {exc}"
            ) from exc

    def _count(self, method: str, status: str) -> None:
        if self._metrics is not None:
            self._metrics.pd_requests.labels(self.account, method, status).inc()
