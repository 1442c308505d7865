"""Jira DC webhooks: registrations and best-effort delivery.

Jira DC documents no retries: each webhook is POSTed once, from a background worker, in event
order; a failure is recorded (`GET /_sim/deliveries`) and dropped.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pdjira_simulators.common.deliveries import DeliveryFailed, DeliveryLog, Dispatcher
from pdjira_simulators.common.signing import jira_signature
from pdjira_simulators.common.webhook_faults import WebhookFaultInjector

__all__ = [
    "ISSUE_EVENTS",
    "JiraWebhookDispatcher",
    "OutgoingJiraWebhook",
    "Registration",
    "substitute_url",
]

ISSUE_EVENTS = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted")
USER_AGENT = "Atlassian HttpClient 3.0.4 / JIRA-10.3.4 (10030004) / Default"


@dataclass(slots=True)
class Registration:
    """A registered webhook (both registration APIs share one list, as in one instance)."""

    id: int
    name: str
    url: str
    events: tuple[str, ...]
    jql: str | None = None
    exclude_body: bool = False
    secret: str | None = None
    active: bool = True
    created: datetime | None = None
    updated: datetime | None = None
    description: str = ""
    configuration: dict[str, str] = field(default_factory=dict)


_VARIABLE = re.compile(r"\$?\{([A-Za-z]+\.[A-Za-z]+)\}")


def substitute_url(url: str, variables: Mapping[str, str]) -> str:
    """`${issue.key}` (Jira <= 9) and `{issue.key}` (Jira 10) in the URL get the event's
    values; unknown variables are left as they are."""
    return _VARIABLE.sub(lambda m: variables.get(m.group(1), m.group(0)), url)


@dataclass(frozen=True, slots=True)
class OutgoingJiraWebhook:
    event_id: str
    event_type: str
    issue_key: str
    registration_id: int
    url: str
    body: bytes
    secret: str | None


class JiraWebhookDispatcher(Dispatcher[OutgoingJiraWebhook]):
    """One worker, one queue: global event order, one attempt per webhook."""

    def __init__(
        self,
        *,
        log: DeliveryLog,
        faults: WebhookFaultInjector[OutgoingJiraWebhook],
        timeout: float,
    ) -> None:
        super().__init__(log=log, faults=faults, timeout=timeout)
        self._queue: asyncio.Queue[OutgoingJiraWebhook] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._in_flight = 0

    def _order_group(self, hook: OutgoingJiraWebhook) -> str:
        return "all"

    def enqueue(self, hook: OutgoingJiraWebhook) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
        self._queue.put_nowait(hook)
        self._in_flight += 1
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._run())

    def pending(self) -> int:
        return self._in_flight

    async def idle(self) -> None:
        if self._queue is not None:
            await self._queue.join()

    async def _stop_workers(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            hook = await self._queue.get()
            try:
                await self._deliver(hook)
            finally:
                self._in_flight -= 1
                self._queue.task_done()

    async def _deliver(self, hook: OutgoingJiraWebhook) -> None:
        delay = self._faults.delay_seconds()
        if delay:
            await asyncio.sleep(delay)
        headers = {"User-Agent": USER_AGENT}
        if hook.body:
            headers["Content-Type"] = "application/json; charset=UTF-8"
        if hook.secret:
            headers["X-Hub-Signature"] = jira_signature(hook.secret, hook.body)
        status: int | None = None
        error: str | None = None
        try:
            status = await self._post(hook.url, hook.body, headers)
        except DeliveryFailed as exc:
            error = str(exc)
        self._log.record(
            event_id=hook.event_id,
            webhook_id=hook.event_id,
            event_type=hook.event_type,
            subject_id=hook.issue_key,
            subscription_id=str(hook.registration_id),
            url=hook.url,
            attempt=1,
            status_code=status,
            error=error,
        )
