"""Webhook administration: the requests ingest's webhook check sends the writers (they alone
talk to the vendors), the ping ingest announces, and the keys of KV ``pdjira_webhooks``.

- ``reads.pd.<account>.webhooks``: :class:`PdWebhookRequest` -> :class:`PdWebhookReply`
  (PagerDuty v3 webhook subscriptions: list, create, update, enable, delete, ping);
- ``reads.jira.<instance>.webhooks``: :class:`JiraWebhookRequest` -> :class:`JiraWebhookReply`
  (Jira's two registration APIs: ``/rest/webhooks/1.0/webhook`` (Jira <= 9, and later) and
  ``/rest/jira-webhook/1.0/webhooks`` (Jira DC 10+, which can sign));
- ``ingest.pings.pd.<account>``: core NATS, :class:`PingReceived`, published by the ingest
  replica a ``pagey.ping`` reached, so the check (on any replica) can time the round trip.

Secrets: PagerDuty makes a subscription's signing secret itself and shows it once, in the
create answer (``PdWebhookReply.created_secret``); ingest keeps it in KV ``pdjira_webhooks``
(:func:`pd_secret_key`) and accepts it beside the configured ``webhook_secrets``. A Jira
webhook's secret is the configured ``webhook_secret`` (``JiraWebhookRequest.secret``). Neither
is ever logged or shown.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from pdjira_common.requests import jira_read_subject, pd_read_subject
from pdjira_common.subjects import token

__all__ = [
    "JIRA_API_V1",
    "JIRA_API_V10",
    "PD_SECRET_PREFIX",
    "JiraWebhook",
    "JiraWebhookReply",
    "JiraWebhookRequest",
    "PdSubscription",
    "PdWebhookReply",
    "PdWebhookRequest",
    "PingReceived",
    "WebhookSeen",
    "jira_webhooks_subject",
    "pd_ping_subject",
    "pd_secret_key",
    "pd_webhooks_subject",
    "seen_key",
    "seen_target",
]

JIRA_API_V1 = "/rest/webhooks/1.0/webhook"
JIRA_API_V10 = "/rest/jira-webhook/1.0/webhooks"
PD_SECRET_PREFIX = "pd-secret"  # noqa: S105  # a KV key prefix, not a secret

PdWebhookOp = Literal["list", "create", "update", "enable", "delete", "ping"]
JiraWebhookOp = Literal["list", "create", "update", "delete"]
JiraApiName = Literal["v1", "v10"]


def pd_webhooks_subject(account: str) -> str:
    return pd_read_subject(account, "webhooks")


def jira_webhooks_subject(instance: str) -> str:
    return jira_read_subject(instance, "webhooks")


def pd_ping_subject(account: str) -> str:
    """Where an ingest replica announces a ``pagey.ping`` of ``account`` it received."""
    return f"ingest.pings.pd.{token(account)}"


def pd_secret_key(account: str, subscription_id: str) -> str:
    """KV ``pdjira_webhooks`` key of the secret of a subscription the check created."""
    return f"{PD_SECRET_PREFIX}.{token(account)}.{token(subscription_id)}"


def seen_key(system: Literal["pd", "jira"], target: str) -> str:
    """KV ``pdjira_webhooks`` key of the time the last webhook of a target was received."""
    return f"seen.{system}.{token(target)}"


def seen_target(key: str) -> tuple[Literal["pd", "jira"], str] | None:
    """(system, target token) of a :func:`seen_key`; None for any other key."""
    prefix, _, rest = key.partition(".")
    system, _, target = rest.partition(".")
    if prefix != "seen" or not target:
        return None
    if system == "pd":
        return "pd", target
    if system == "jira":
        return "jira", target
    return None


class WebhookSeen(msgspec.Struct, frozen=True, kw_only=True):
    """KV value of a :func:`seen_key`: when (ISO 8601, UTC) and which ingest replica."""

    at: str
    replica: str = ""


class PdSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """A v3 webhook subscription as the check sees it (``id`` empty: one to create)."""

    id: str = ""
    url: str
    events: tuple[str, ...] = ()
    filter_type: str = "account_reference"
    filter_id: str | None = None
    active: bool = True
    temporarily_disabled: bool = False
    description: str = ""


class PdWebhookRequest(msgspec.Struct, frozen=True, kw_only=True, tag="webhooks.pd_request.v1"):
    """``op`` on the account's subscriptions: ``list``; ``create`` (``subscription``);
    ``update`` (``subscription_id``, and ``subscription``'s events, filter, active,
    description: PagerDuty cannot change a URL); ``enable`` (a temporarily disabled one);
    ``delete``; ``ping`` (PagerDuty sends ``pagey.ping`` to its URL)."""

    account: str
    op: PdWebhookOp
    subscription_id: str | None = None
    subscription: PdSubscription | None = None


class PdWebhookReply(msgspec.Struct, frozen=True, kw_only=True, tag="webhooks.pd_reply.v1"):
    subscriptions: tuple[PdSubscription, ...] = ()  # list: all; create/update/enable: the one
    # The signing secret of a subscription just created: PagerDuty shows it this once. Never
    # log or show it.
    created_secret: str | None = None
    error: str | None = None

    def __repr__(self) -> str:  # never the secret
        ids = [s.id for s in self.subscriptions]
        return f"PdWebhookReply(subscriptions={ids!r}, error={self.error!r})"


class JiraWebhook(msgspec.Struct, frozen=True, kw_only=True):
    """A registered Jira webhook (``id`` empty: one to create); ``api`` is the registration API
    it was listed by (both list the same webhooks on Jira DC 10+)."""

    id: str = ""
    api: JiraApiName = "v10"
    name: str = ""
    url: str
    events: tuple[str, ...] = ()
    jql: str | None = None
    enabled: bool = True
    exclude_body: bool = False


class JiraWebhookRequest(msgspec.Struct, frozen=True, kw_only=True, tag="webhooks.jira_request.v1"):
    """``op`` on the instance's webhooks: ``list`` (both APIs); ``create`` (``webhook``, by
    the newest API the instance has); ``update`` / ``delete`` (``webhook_id`` by ``api``).
    ``secret`` is set on create/update when given (the instance's webhook_secret)."""

    instance: str
    op: JiraWebhookOp
    webhook_id: str | None = None
    api: JiraApiName | None = None
    webhook: JiraWebhook | None = None
    secret: str | None = None

    def __repr__(self) -> str:  # never the secret
        return (
            f"JiraWebhookRequest(instance={self.instance!r}, op={self.op!r}, "
            f"webhook_id={self.webhook_id!r})"
        )


class JiraWebhookReply(msgspec.Struct, frozen=True, kw_only=True, tag="webhooks.jira_reply.v1"):
    webhooks: tuple[JiraWebhook, ...] = ()
    apis: tuple[JiraApiName, ...] = ()  # list: the registration APIs the instance answered
    error: str | None = None


class PingReceived(msgspec.Struct, frozen=True, kw_only=True, tag="webhooks.ping_received.v1"):
    """A signed ``pagey.ping`` reached ingest (it is never stored as an event)."""

    account: str
    subscription_id: str | None = None  # PagerDuty's X-Webhook-Subscription header
    event_id: str | None = None
    received_at: str  # ISO 8601
    replica: str = ""
