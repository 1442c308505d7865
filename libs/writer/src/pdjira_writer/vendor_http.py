"""The HTTP base of a vendor client: one per configured target (a Jira instance, a PagerDuty
token), every call to it through one pacer: the budget the writer replicas share in NATS KV
(:class:`SharedBudget`) when the writer runs on NATS, a local :class:`Pacer` otherwise.

The request loop is the same for every vendor: wait for the pacer, send, count the answer, let
the vendor's headers lower the rate or pause the target, try a 429 again here (the command
keeps the work its other calls did), classify the answer. What the vendor's bodies and headers
*mean* (its error text, how long a 429 pauses, which rate it announces, what to do about a
refusal) is the vendor's: :class:`VendorAnswers`.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import msgspec
from nats.js.kv import KeyValue
from pdjira_common.config import Config, RateLimit
from pdjira_common.ratelimit import Pacer
from pdjira_common.retry import Retryable
from pdjira_common.shared_budget import SharedBudget, budget_key
from prometheus_client import Counter

from pdjira_writer.call_log import note_call
from pdjira_writer.errors import Refused, transport_failure
from pdjira_writer.spec import Vendor
from pdjira_writer.vendor_metrics import VendorCallMetrics
from pdjira_writer.writes_sent import note_request

__all__ = ["HttpOptions", "VendorAnswers", "VendorHttp"]

T = TypeVar("T")
TRIES_ON_429 = 3
_RETRYABLE = (httpx.codes.REQUEST_TIMEOUT, httpx.codes.TOO_MANY_REQUESTS)


class VendorAnswers(ABC):
    """What a vendor's answers mean: the error classification hook of :class:`VendorHttp`.

    The classification is the same for every vendor: a success is no problem; 408, 429 and
    5xx may pass later (Retryable, after the wait the vendor asked for); anything else is the
    vendor's refusal (permanent), in its own words and with what to do about it. A vendor says
    what its bodies and headers mean."""

    vendor: Vendor
    refusal: type[Refused] = Refused  # the vendor's own error type

    @abstractmethod
    def words(self, body: bytes) -> tuple[str, int | None]:
        """The vendor's text of an error body (redacted, bounded), and its error code if any."""

    @abstractmethod
    def retry_after(self, status: int, headers: Mapping[str, str]) -> float | None:
        """The wait before a retry the vendor asked for in a retryable answer."""

    @abstractmethod
    def hint(self, status: int, code: int | None, text: str, target: str) -> str | None:
        """What to do about a refusal, when the vendor knows better than "fix the rule"."""

    @abstractmethod
    def pause_seconds(self, status: int, headers: Mapping[str, str]) -> float | None:
        """How long to leave the target alone after this answer (a 429, a spent budget)."""

    def server_rate(self, headers: Mapping[str, str]) -> float | None:
        """The limit the server announces, in requests per second for the whole login."""
        return None

    def classify(
        self, status: int, headers: Mapping[str, str], body: bytes, *, what: str, target: str
    ) -> Retryable | Refused | None:
        """None for success; Retryable for 408/429/5xx; the vendor's refusal otherwise."""
        if status < httpx.codes.BAD_REQUEST:
            return None
        text, code = self.words(body)
        label = self.vendor.label(target)
        if status in _RETRYABLE or status >= httpx.codes.INTERNAL_SERVER_ERROR:
            return Retryable(
                f"{label} answered {status} to {what}: {text}",
                delay=self.retry_after(status, headers),
            )
        hint = self.hint(status, code, text, target) or (
            f"fix the rule or the {self.vendor.name} configuration it refers to, "
            "then replay the command"
        )
        return self.refusal(
            f"{label} refused {what} ({status}): {text}; {hint}", status_code=status, code=code
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpOptions:
    """How a writer talks to every target of its vendor; clocks and sleep are the pacers'.

    With ``budgets`` (opens KV bucket ``pdjira_budgets``) the replicas share each target's
    budget; without it, or while KV is out of reach, each takes ``1 / replicas`` of it."""

    timeout: float
    replicas: int = 1  # writer replicas: a replica's share when the budget is not shared
    budgets: Callable[[], Awaitable[KeyValue]] | None = None
    max_wait: float = 60.0  # a longer wait for the pacer retries the command later instead
    requests: Counter | None = None  # labels: target, method, status ('error': no answer)
    # Each call's latency by target/operation/status, each target's rate budget.
    vendor_metrics: VendorCallMetrics | None = None
    transport: httpx.AsyncBaseTransport | None = None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    wall_clock: Callable[[], float] = time.time  # the shared budget's (replicas on other hosts)

    @classmethod
    def of(
        cls,
        config: Config,
        requests: Counter | None = None,
        *,
        budgets: Callable[[], Awaitable[KeyValue]] | None = None,
        vendor_metrics: VendorCallMetrics | None = None,
    ) -> HttpOptions:
        return cls(
            timeout=config.retry.http_timeout,
            replicas=config.writers.replicas,
            budgets=budgets,
            # Waits for the rate limit stay well inside the lane's bound on a command.
            max_wait=max(config.retry.ack_wait, 5.0),
            requests=requests,
            vendor_metrics=vendor_metrics,
        )


class VendorHttp:
    """Calls to one target: ``await http.call(...)``, ``http.decode(...)``."""

    def __init__(
        self,
        *,
        target: str,
        base_url: str,
        headers: Mapping[str, str],
        limit: RateLimit,
        answers: VendorAnswers,
        options: HttpOptions,
        auth: httpx.Auth | None = None,
    ) -> None:
        self.target = target
        self.label = answers.vendor.label(target)  # "Jira instance 'dc1'": how messages name it
        self._answers = answers
        self._requests = options.requests
        self._metrics = options.vendor_metrics
        # Every call to the target (commands, and reads for other services) waits here; the
        # lanes keep the command's ack timer alive meanwhile.
        self.pacer: Pacer | SharedBudget
        if options.budgets is not None:
            self.pacer = SharedBudget(
                open_bucket=options.budgets,
                key=budget_key(answers.vendor.name, target),
                rate=limit.requests_per_second,
                burst=limit.burst,
                replicas=options.replicas,
                max_wait=options.max_wait,
                clock=options.wall_clock,
                sleep=options.sleep,
            )
        else:
            self.pacer = Pacer(
                rate=limit.requests_per_second,
                burst=limit.burst,
                replicas=options.replicas,
                max_wait=options.max_wait,
                clock=options.clock,
                sleep=options.sleep,
            )
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers),
            auth=auth,
            timeout=httpx.Timeout(options.timeout),
            transport=options.transport,
        )
        if self._metrics is not None:
            self._metrics.watch_budget(target, self._budget_rate, limit.requests_per_second)

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    async def aclose(self) -> None:
        if isinstance(self.pacer, SharedBudget):
            await self.pacer.aclose()
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The answer to a request the vendor accepted; raises what ``answers.classify`` says."""
        # A 429 pauses the target (nothing is sent until the pause is over), then the same
        # call is tried again here; after the last try it retries the whole command.
        for attempt in range(1, TRIES_ON_429 + 1):
            await self.pacer.acquire(what)
            note_request(method)  # from here on, a write may have reached the vendor
            started, sent = time.time(), time.perf_counter()
            try:
                response = await self._http.request(
                    method, path, params=params, json=json, headers=headers
                )
            except httpx.HTTPError as exc:
                latency = time.perf_counter() - sent
                self._count(method, "error")
                self._observe(method, path, "error", latency)
                note_call(
                    method,
                    path,
                    status=None,
                    started=started,
                    latency=latency,
                    error=type(exc).__name__,
                )
                raise transport_failure(exc, what=what, target=self.label) from exc
            latency = time.perf_counter() - sent
            self._count(method, str(response.status_code))
            self._observe(method, path, str(response.status_code), latency)
            note_call(
                method,
                path,
                status=response.status_code,
                started=started,
                latency=latency,
            )
            server_rate = self._answers.server_rate(response.headers)
            self.pacer.observe_limit(server_rate)
            pause = self._answers.pause_seconds(response.status_code, response.headers)
            if response.status_code == httpx.codes.TOO_MANY_REQUESTS and not (server_rate or pause):
                # Neither a rate nor a time to wait to follow: slow down on our own. (A 429
                # that says when to come back is obeyed as it is: halving on top of its pause
                # slowed a target for half a minute after every short throttle.)
                self.pacer.throttled()
            self.pacer.pause(pause)
            if response.status_code == httpx.codes.TOO_MANY_REQUESTS and attempt < TRIES_ON_429:
                continue
            problem = self._answers.classify(
                response.status_code,
                response.headers,
                response.content,
                what=what,
                target=self.target,
            )
            if problem is not None:
                raise problem
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def decode(self, response: httpx.Response, type_: type[T], *, what: str) -> T:
        try:
            return msgspec.json.decode(response.content, type=type_)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            # A proxy's HTML page or a half-written answer: likely to pass on a later try.
            raise Retryable(f"{self.label} answered {what} with an unexpected body: {exc}") from exc

    async def get(
        self, path: str, type_: type[T], *, what: str, params: Mapping[str, str] | None = None
    ) -> T:
        """``GET path``, its answer decoded as ``type_``."""
        response = await self.call("GET", path, what=what, params=params)
        return self.decode(response, type_, what=what)

    def _observe(self, method: str, path: str, status: str, seconds: float) -> None:
        if self._metrics is not None:
            self._metrics.observe(self.target, method, path, status, seconds)

    def _budget_rate(self) -> float:
        """The target's budget now, all replicas (a local pacer holds this replica's share)."""
        if isinstance(self.pacer, SharedBudget):
            return self.pacer.rate
        return self.pacer.rate * self.pacer.replicas

    def _count(self, method: str, status: str) -> None:
        if self._requests is not None:
            self._requests.labels(self.target, method, status).inc()
