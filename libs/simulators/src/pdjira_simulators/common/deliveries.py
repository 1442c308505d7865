"""Webhook deliveries: the log of attempts (`GET /_sim/deliveries`), the dispatcher base both
vendors' delivery workers build on, and the activity counters (`GET /_sim/webhook-activity`)
that tell a test when no webhook is queued or in flight any more.

Deliveries are aiohttp POSTs over keep-alive connections: one session per dispatcher (so per
simulator), as many connections as deliveries in flight. httpx's pool cost the PagerDuty
simulator ~70% of its CPU in a 2,000-incident burst (a ``select`` per pooled connection per
request); aiohttp's does not scan its pool.
"""

from __future__ import annotations

import abc
import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Generic, TypeVar

import aiohttp
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.jsonresp import JsonResponse
from pdjira_simulators.common.webhook_faults import WebhookFaultInjector, webhook_fault_routes

__all__ = [
    "MAX_IN_FLIGHT",
    "DeliveryAttempt",
    "DeliveryFailed",
    "DeliveryLog",
    "Dispatcher",
    "WebhookActivity",
    "delivery_routes",
]

H = TypeVar("H")
MAX_IN_FLIGHT = 32  # webhook deliveries attempted at once

# The delivery log names failures as it did when deliveries went through httpx.
TIMEOUT = "timeout"
HUNG_UP = "RemoteProtocolError: Server disconnected without sending a response."


class DeliveryFailed(Exception):
    """An attempt that got no HTTP answer; ``str(exc)`` is the delivery log's ``error``:
    ``timeout``, ``ConnectError: <OS error>`` (refused, unknown host...), ``RemoteProtocolError:
    ...`` (hung up, not HTTP) or ``UnsupportedProtocol: ...`` (not an http(s) URL)."""


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
        self._session: aiohttp.ClientSession | None = None
        self._submitted = 0
        # Deliveries in flight at once, over as many connections: a burst of thousands of
        # incidents (each its own ordered queue) would otherwise queue thousands of requests in
        # a pool (and waiting for a connection would count against each one's timeout); httpx's
        # scan per request made that quadratic. The vendors bound theirs too.
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

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_IN_FLIGHT),
                timeout=aiohttp.ClientTimeout(total=self._timeout),  # connect, send, answer
                cookie_jar=aiohttp.DummyCookieJar(),  # a receiver's cookies are not sent back
                skip_auto_headers=("Content-Type",),  # only the vendor's own, if any
                trace_configs=[_REUSE_TRACE],
                # trust_env is False: no proxy from the environment swallows local deliveries
            )
        return self._session

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """One delivery attempt, at most :data:`MAX_IN_FLIGHT` at once: the answer's status
        (its body read and dropped), or :class:`DeliveryFailed`."""
        async with self._slots:
            try:
                return await self._exchange(url, body, headers)
            except _Stale:
                # The receiver closed an idle keep-alive connection as it was reused (a POST
                # is not retried by aiohttp): not a failed attempt, send it on a new one.
                try:
                    return await self._exchange(url, body, headers)
                except _Stale:
                    raise DeliveryFailed(HUNG_UP) from None

    async def _exchange(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        reuse = SimpleNamespace(reused=False)
        try:
            async with self._http().post(
                url, data=body, headers=headers, trace_request_ctx=reuse
            ) as response:
                await response.read()
                return response.status
        except TimeoutError:  # aiohttp's timeouts are TimeoutErrors too
            raise DeliveryFailed(TIMEOUT) from None
        except aiohttp.ClientConnectorError as exc:
            raise DeliveryFailed(f"ConnectError: {exc.os_error}") from None
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            if reuse.reused:
                raise _Stale from None
            raise DeliveryFailed(HUNG_UP) from None
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
            raise DeliveryFailed(f"UnsupportedProtocol: cannot deliver to {url!r}") from None
        except aiohttp.ClientError as exc:
            raise DeliveryFailed(f"RemoteProtocolError: {exc}") from None

    async def aclose(self) -> None:
        await self._stop_workers()
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Stale(Exception):
    """A reused keep-alive connection was closed before the receiver answered."""


async def _reused(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceConnectionReuseconnParams,
) -> None:
    context.trace_request_ctx.reused = True


_REUSE_TRACE = aiohttp.TraceConfig()
_REUSE_TRACE.on_connection_reuseconn.append(_reused)
_REUSE_TRACE.freeze()


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
