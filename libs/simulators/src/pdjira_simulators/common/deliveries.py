"""Webhook deliveries: the log of attempts (`GET /_sim/deliveries`), the dispatcher base both
vendors' delivery workers build on, and the activity counters (`GET /_sim/webhook-activity`)
that tell a test when no webhook is queued or in flight any more."""

from __future__ import annotations

import abc
import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.hookpost import HookClient, HookResponse
from pdjira_simulators.common.jsonresp import JsonResponse
from pdjira_simulators.common.webhook_faults import WebhookFaultInjector, webhook_fault_routes

__all__ = [
    "MAX_IN_FLIGHT",
    "DeliveryAttempt",
    "DeliveryLog",
    "Dispatcher",
    "WebhookActivity",
    "delivery_routes",
]

H = TypeVar("H")
MAX_IN_FLIGHT = 32  # webhook deliveries attempted at once


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One HTTP attempt to deliver one webhook (status_code None = no HTTP answer)."""

    event_id: str
    webhook_id: str
    event_type: str
    subject_id: str
    subscription_id: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None
    at: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class DeliveryLog:
    """Record of every attempt, in the order they happened; bounded like the request log."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self._attempts: deque[DeliveryAttempt] = deque(maxlen=max_entries)
        self.total = 0  # attempts ever made; clear() and the bound do not lower it

    def record(
        self,
        *,
        event_id: str,
        webhook_id: str,
        event_type: str,
        subject_id: str,
        subscription_id: str,
        url: str,
        attempt: int,
        status_code: int | None,
        error: str | None,
    ) -> DeliveryAttempt:
        entry = DeliveryAttempt(
            event_id=event_id,
            webhook_id=webhook_id,
            event_type=event_type,
            subject_id=subject_id,
            subscription_id=subscription_id,
            url=url,
            attempt=attempt,
            status_code=status_code,
            error=error,
            at=datetime.now(UTC).isoformat(),
        )
        self._attempts.append(entry)
        self.total += 1
        return entry

    def attempts(self) -> list[DeliveryAttempt]:
        return list(self._attempts)

    def clear(self) -> None:
        self._attempts.clear()

    def as_json(self, subject_key: str) -> list[dict[str, object]]:
        """Render attempts; `subject_key` is "incident_id" (PD) or "issue_key" (Jira)."""
        return [
            {
                "event_id": a.event_id,
                "webhook_id": a.webhook_id,
                "event_type": a.event_type,
                subject_key: a.subject_id,
                "subscription_id": a.subscription_id,
                "url": a.url,
                "attempt": a.attempt,
                "status_code": a.status_code,
                "error": a.error,
                "at": a.at,
            }
            for a in self._attempts
        ]


@dataclass(frozen=True, slots=True)
class WebhookActivity:
    """What the delivery worker is doing: ``queued`` webhooks are waiting or being attempted
    (a PagerDuty webhook waiting for its retry too); ``submitted`` and ``attempts`` only grow,
    so two equal readings mean nothing was emitted or sent in between. ``held`` webhooks are
    kept back by the reorder fault until a later one (or DELETE /_sim/webhook-faults)."""

    queued: int
    submitted: int
    attempts: int
    held: int

    @property
    def idle(self) -> bool:
        return self.queued == 0


class Dispatcher(abc.ABC, Generic[H]):
    """Queues a vendor's outgoing webhooks (after fault injection) and delivers them in the
    background; subclasses decide the order and the retries."""

    def __init__(self, *, log: DeliveryLog, faults: WebhookFaultInjector[H], timeout: float):
        self._log = log
        self._faults = faults
        self._timeout = timeout
        self._client: HookClient | None = None
        self._submitted = 0
        # Deliveries in flight at once, over as many connections: a burst of thousands of
        # incidents (each its own ordered queue) would otherwise queue thousands of requests in
        # a pool, and httpx's scan per request made delivery quadratic (the simulator then
        # spent minutes of CPU on a 2,000-incident burst). The vendors bound theirs too.
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)

    def submit(self, hook: H) -> None:
        """Queue without waiting: deliveries never run inline with the REST response."""
        self._submitted += 1
        for copy in self._faults.plan(self._order_group(hook), hook):
            self.enqueue(copy)

    @abc.abstractmethod
    def _order_group(self, hook: H) -> str:
        """The unit whose order the vendor promises (what a reorder fault may swap within)."""

    @abc.abstractmethod
    def enqueue(self, hook: H) -> None:
        """Queue bypassing fault injection (used to release webhooks held for reordering)."""

    @abc.abstractmethod
    def pending(self) -> int:
        """Webhooks queued or being attempted."""

    @abc.abstractmethod
    async def idle(self) -> None:
        """Wait until every queued webhook was attempted or given up (wrap in a timeout)."""

    @abc.abstractmethod
    async def _stop_workers(self) -> None: ...

    def activity(self) -> WebhookActivity:
        return WebhookActivity(
            queued=self.pending(),
            submitted=self._submitted,
            attempts=self._log.total,
            held=self._faults.held,
        )

    def _http(self) -> HookClient:
        if self._client is None:
            # Not httpx: see :mod:`pdjira_simulators.common.hookpost` (and no proxy from the
            # environment can swallow local deliveries).
            self._client = HookClient(self._timeout, max_idle=MAX_IN_FLIGHT)
        return self._client

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> HookResponse:
        """One delivery attempt, at most :data:`MAX_IN_FLIGHT` at once; raises httpx's
        exceptions (``httpx.TimeoutException``, ``httpx.HTTPError``)."""
        async with self._slots:
            return await self._http().post(url, body, headers)

    async def aclose(self) -> None:
        await self._stop_workers()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def delivery_routes(
    log: DeliveryLog,
    dispatcher: Dispatcher[H],
    faults: WebhookFaultInjector[H],
    *,
    subject_key: str,
) -> list[Route]:
    """`GET|DELETE /_sim/deliveries` (`subject_key`: "incident_id" or "issue_key"),
    `GET /_sim/webhook-activity` and `/_sim/webhook-faults`."""

    async def deliveries(request: Request) -> Response:
        if request.method == "DELETE":
            log.clear()
        return JsonResponse(
            {"deliveries": log.as_json(subject_key), "pending": dispatcher.pending()}
        )

    async def activity(request: Request) -> Response:
        return JsonResponse(asdict(dispatcher.activity()))

    def release(held: Sequence[H]) -> None:
        for hook in held:
            dispatcher.enqueue(hook)

    return [
        Route("/_sim/deliveries", deliveries, methods=["GET", "DELETE"]),
        Route("/_sim/webhook-activity", activity, methods=["GET"]),
        *webhook_fault_routes(faults, release),
    ]
