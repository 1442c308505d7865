"""Log of webhook delivery attempts, exposed at `GET /_sim/deliveries`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["DeliveryAttempt", "DeliveryLog"]


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
