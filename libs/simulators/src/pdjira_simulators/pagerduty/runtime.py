"""The running PagerDuty simulator: state plus logs, faults and the webhook dispatcher."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from starlette.requests import Request

from pdjira_simulators.common.ratelimit import FixedWindowLimiter
from pdjira_simulators.common.runtime import SimulatorCore
from pdjira_simulators.pagerduty.settings import PagerDutySettings
from pdjira_simulators.pagerduty.state import (
    INCIDENT_EVENT_TYPES,
    IncidentEvent,
    PagerDutyState,
    Subscription,
)
from pdjira_simulators.pagerduty.views import Urls, webhook_envelope
from pdjira_simulators.pagerduty.webhooks import OutgoingWebhook, WebhookDispatcher

__all__ = ["SIM_SUBSCRIPTION_ID", "PagerDutySimulator"]

# The subscription behind --webhook-url and PUT /_sim/webhook-target. It is a real
# subscription (listed by GET /webhook_subscriptions) so "check webhooks" logic sees it.
SIM_SUBSCRIPTION_ID = "PSIMWHK"


class PagerDutySimulator(SimulatorCore[OutgoingWebhook]):
    """Everything one simulated account needs; handlers close over one instance."""

    def __init__(self, settings: PagerDutySettings) -> None:
        super().__init__("pagerduty", settings)
        self.settings = settings
        self.state = PagerDutyState(seed=settings.seed, with_priorities=settings.priorities_enabled)
        self.limiter = FixedWindowLimiter(settings.rate_limit_per_minute, 60.0)
        self.tokens = {settings.token, *settings.extra_tokens}
        # User-level API keys (a person's own, from their profile): token -> user id. They
        # authenticate like any key (so are in ``tokens`` too), and only they answer /users/me.
        self.user_tokens: dict[str, str] = {}
        self.dispatcher = WebhookDispatcher(
            subscription=self.state.subscriptions.get,
            log=self.deliveries,
            faults=self.webhook_faults,
            retry_delay=settings.webhook_retry_delay,
            timeout=settings.webhook_timeout,
            max_attempts=settings.webhook_max_attempts,
            disable_after=settings.webhook_disable_after,
        )
        if settings.webhook_url:
            self.set_webhook_target(settings.webhook_url, list(settings.webhook_secrets))

    def urls(self, request: Request) -> Urls:
        """Links follow the configured base URL, else the address the client used."""
        base = self.settings.base_url or str(request.base_url).rstrip("/")
        return Urls(api=base)

    def set_webhook_target(self, url: str | None, secrets: Sequence[str]) -> Subscription | None:
        self.state.subscriptions.pop(SIM_SUBSCRIPTION_ID, None)
        if not url:
            return None
        return self.state.add_subscription(
            url=url,
            events=INCIDENT_EVENT_TYPES,
            secrets=list(secrets),
            description="pdjira simulator webhook target",
            subscription_id=SIM_SUBSCRIPTION_ID,
        )

    def emit(self, events: Sequence[IncidentEvent], urls: Urls) -> None:
        """Render each event now (a snapshot, like PagerDuty) and queue one webhook per
        subscriber; the event id is shared, the webhook id is per subscription."""
        for event in events:
            subscribers = self.state.subscribers(event)
            if not subscribers:
                continue
            event_id = self.state.new_uuid()
            body = msgspec.json.encode(webhook_envelope(self.state, event, event_id, urls))
            for sub in subscribers:
                self.dispatcher.submit(
                    OutgoingWebhook(
                        event_id=event_id,
                        webhook_id=self.state.new_uuid(),
                        event_type=event.event_type,
                        incident_id=event.incident_id,
                        subscription_id=sub.id,
                        body=body,
                    )
                )

    def ping(self, sub: Subscription) -> None:
        """`pagey.ping` for POST /webhook_subscriptions/{id}/ping."""
        event_id = self.state.new_uuid()
        envelope = {
            "event": {
                "id": event_id,
                "event_type": "pagey.ping",
                "resource_type": "pagey",
                "occurred_at": self.state.now().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "agent": None,
                "client": None,
                "data": {"message": "Hello from your friend Pagey!", "type": "ping"},
            }
        }
        self.dispatcher.enqueue(
            OutgoingWebhook(
                event_id=event_id,
                webhook_id=self.state.new_uuid(),
                event_type="pagey.ping",
                incident_id="",
                subscription_id=sub.id,
                body=msgspec.json.encode(envelope),
            )
        )

    def mint_user_token(self, user_id: str, token: str) -> None:
        """A user-level API key for ``user_id`` (``/_sim/users/{id}/token``)."""
        self.user_tokens[token] = user_id
        self.tokens.add(token)
