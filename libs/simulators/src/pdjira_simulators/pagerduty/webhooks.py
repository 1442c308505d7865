"""Webhook v3 delivery: background, in order per (subscription, incident), at-least-once.

PagerDuty retries timeouts, connection errors, 5xx and 429 ("for up to 48 hours"), drops other
4xx, and queues later webhooks for the same incident behind one that is retrying. The retry
delay is a setting so tests do not wait minutes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pdjira_simulators.common.deliveries import DeliveryFailed, DeliveryLog, Dispatcher
from pdjira_simulators.common.signing import pagerduty_signature
from pdjira_simulators.common.webhook_faults import WebhookFaultInjector
from pdjira_simulators.pagerduty.state import Subscription

__all__ = ["OutgoingWebhook", "WebhookDispatcher", "should_retry"]


@dataclass(frozen=True, slots=True)
class OutgoingWebhook:
    """One webhook for one subscription; `webhook_id` is repeated on every retry of it."""

    event_id: str
    webhook_id: str
    event_type: str
    incident_id: str
    subscription_id: str
    body: bytes


def should_retry(status_code: int) -> bool:
    """Retry on 429 and everything outside 4xx; other 4xx are dropped like PagerDuty does."""
    return status_code == 429 or not 400 <= status_code < 500


class WebhookDispatcher(Dispatcher[OutgoingWebhook]):
    """Owns the delivery queues and worker tasks; create and close inside the event loop."""

    def __init__(
        self,
        *,
        subscription: Callable[[str], Subscription | None],
        log: DeliveryLog,
        faults: WebhookFaultInjector[OutgoingWebhook],
        retry_delay: float,
        timeout: float,
        max_attempts: int,
        disable_after: int = 3,
    ) -> None:
        super().__init__(log=log, faults=faults, timeout=timeout)
        self._subscription = subscription
        self._retry_delay = retry_delay
        self._max_attempts = max_attempts
        self._disable_after = disable_after
        self._queues: dict[tuple[str, str], deque[OutgoingWebhook]] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}

    def _order_group(self, hook: OutgoingWebhook) -> str:
        return f"{hook.subscription_id}/{hook.incident_id}"

    def enqueue(self, hook: OutgoingWebhook) -> None:
        key = (hook.subscription_id, hook.incident_id)
        self._queues.setdefault(key, deque()).append(hook)
        if key not in self._workers:
            self._workers[key] = asyncio.get_running_loop().create_task(self._drain(key))

    def pending(self) -> int:
        """Queued per (subscription, incident), the one being attempted or retried included."""
        return sum(len(q) for q in self._queues.values())

    async def idle(self) -> None:
        while self._workers:
            await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def _stop_workers(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def _drain(self, key: tuple[str, str]) -> None:
        queue = self._queues[key]
        try:
            while queue:
                await self._deliver(queue[0])
                queue.popleft()
        finally:
            del self._workers[key]
            if not queue:
                del self._queues[key]

    async def _deliver(self, hook: OutgoingWebhook) -> None:
        delay = self._faults.delay_seconds()
        if delay:
            await asyncio.sleep(delay)
        for attempt in range(1, self._max_attempts + 1):
            sub = self._subscription(hook.subscription_id)
            if sub is None or not sub.active:
                self._record(hook, sub, attempt, None, "subscription deleted or inactive")
                return
            if sub.temporarily_disabled:
                # "any other webhooks in its queue will be dropped"
                self._record(hook, sub, attempt, None, "subscription temporarily disabled")
                return
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "PagerDuty-Webhook/V3.0",
                "X-Webhook-Id": hook.webhook_id,
                "X-Webhook-Subscription": sub.id,
                **dict(sub.custom_headers),
            }
            if sub.secrets:
                headers["X-PagerDuty-Signature"] = pagerduty_signature(sub.secrets, hook.body)
            try:
                status = await self._post(sub.url, hook.body, headers)
            except DeliveryFailed as exc:
                self._record(hook, sub, attempt, None, str(exc))
            else:
                self._record(hook, sub, attempt, status, None)
                if 200 <= status < 300:
                    sub.consecutive_drops = 0
                    return
                if not should_retry(status):
                    self._dropped(sub)
                    return
            await asyncio.sleep(self._retry_delay)
        sub = self._subscription(hook.subscription_id)
        if sub is not None:
            self._dropped(sub)

    def _dropped(self, sub: Subscription) -> None:
        """ "After 3 consecutive webhooks are dropped" PagerDuty disables the subscription
        until it is re-enabled (POST /webhook_subscriptions/{id}/enable)."""
        sub.consecutive_drops += 1
        if self._disable_after and sub.consecutive_drops >= self._disable_after:
            sub.temporarily_disabled = True

    def _record(
        self,
        hook: OutgoingWebhook,
        sub: Subscription | None,
        attempt: int,
        status_code: int | None,
        error: str | None,
    ) -> None:
        self._log.record(
            event_id=hook.event_id,
            webhook_id=hook.webhook_id,
            event_type=hook.event_type,
            subject_id=hook.incident_id,
            subscription_id=hook.subscription_id,
            url=sub.url if sub else "",
            attempt=attempt,
            status_code=status_code,
            error=error,
        )
