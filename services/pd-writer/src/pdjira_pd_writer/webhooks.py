"""PagerDuty v3 webhook subscriptions, for ingest's webhook check: ``reads.pd.<account>.webhooks``
answered through the account's client (and so within its rate budget)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from faststream.nats import NatsBroker
from pdjira_common.webhook_admin import PdSubscription, PdWebhookReply, PdWebhookRequest
from pdjira_writer.reads import read_from, serve_read

from pdjira_pd_writer.pd_client import PagerDutyApi
from pdjira_pd_writer.spec import SPEC

__all__ = [
    "PdWebhookApi",
    "answer",
    "create_body",
    "read_subscription",
    "register_webhook_admin",
    "update_body",
]


@runtime_checkable
class PdWebhookApi(Protocol):
    async def webhook_subscriptions(self) -> list[dict[str, Any]]: ...

    async def webhook_subscription_call(
        self, method: str, path: str, what: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def read_subscription(raw: Mapping[str, Any]) -> PdSubscription:
    """A subscription of PagerDuty's JSON (lenient: a missing part is empty, never a failure)."""
    method = raw.get("delivery_method")
    method = method if isinstance(method, dict) else {}
    flt = raw.get("filter")
    flt = flt if isinstance(flt, dict) else {}
    events = raw.get("events")
    return PdSubscription(
        id=_text(raw.get("id")),
        url=_text(method.get("url")),
        events=tuple(e for e in events if isinstance(e, str)) if isinstance(events, list) else (),
        filter_type=_text(flt.get("type")) or "account_reference",
        filter_id=flt.get("id") if isinstance(flt.get("id"), str) else None,
        active=raw.get("active") is not False,
        temporarily_disabled=method.get("temporarily_disabled") is True,
        description=_text(raw.get("description")),
    )


def _filter(sub: PdSubscription) -> dict[str, Any]:
    flt: dict[str, Any] = {"type": sub.filter_type}
    if sub.filter_id is not None:
        flt["id"] = sub.filter_id
    return flt


def create_body(sub: PdSubscription) -> dict[str, Any]:
    return {
        "webhook_subscription": {
            "type": "webhook_subscription",
            "active": sub.active,
            "delivery_method": {"type": "http_delivery_method", "url": sub.url},
            "description": sub.description,
            "events": list(sub.events),
            "filter": _filter(sub),
        }
    }


def update_body(sub: PdSubscription) -> dict[str, Any]:
    """What PUT can change (not the URL)."""
    return {
        "webhook_subscription": {
            "active": sub.active,
            "description": sub.description,
            "events": list(sub.events),
            "filter": _filter(sub),
        }
    }


def _one(answer: Mapping[str, Any]) -> tuple[PdSubscription, ...]:
    raw = answer.get("webhook_subscription")
    return (read_subscription(raw),) if isinstance(raw, dict) else ()


async def answer(client: PagerDutyApi, request: PdWebhookRequest) -> PdWebhookReply:
    if not isinstance(client, PdWebhookApi):
        raise TypeError("this PagerDuty client cannot manage webhook subscriptions")
    op, sub_id = request.op, request.subscription_id
    if op == "list":
        raw = await client.webhook_subscriptions()
        return PdWebhookReply(subscriptions=tuple(read_subscription(r) for r in raw))
    if op == "create":
        if request.subscription is None:
            return PdWebhookReply(error="create needs a subscription")
        answer = await client.webhook_subscription_call(
            "POST", "", "create a webhook subscription", create_body(request.subscription)
        )
        created = answer.get("webhook_subscription")
        method = created.get("delivery_method") if isinstance(created, dict) else None
        secret = method.get("secret") if isinstance(method, dict) else None
        return PdWebhookReply(
            subscriptions=_one(answer), created_secret=secret if isinstance(secret, str) else None
        )
    if not sub_id:
        return PdWebhookReply(error=f"{op} needs a subscription_id")
    what = f"{op} webhook subscription {sub_id}"
    if op == "update":
        if request.subscription is None:
            return PdWebhookReply(error="update needs a subscription")
        body = update_body(request.subscription)
        return PdWebhookReply(
            subscriptions=_one(
                await client.webhook_subscription_call("PUT", f"/{sub_id}", what, body)
            )
        )
    if op == "enable":
        answer = await client.webhook_subscription_call("POST", f"/{sub_id}/enable", what)
        return PdWebhookReply(subscriptions=_one(answer))
    if op == "delete":
        await client.webhook_subscription_call("DELETE", f"/{sub_id}", what)
        return PdWebhookReply()
    await client.webhook_subscription_call("POST", f"/{sub_id}/ping", what)  # ping
    return PdWebhookReply()


def register_webhook_admin(broker: NatsBroker, clients: Mapping[str, PagerDutyApi]) -> None:
    """``reads.pd.<account>.webhooks``, answered with the account's client."""

    async def webhooks(request: PdWebhookRequest) -> PdWebhookReply:
        result = await read_from(
            clients, request.account, SPEC, "webhooks", lambda pd: answer(pd, request)
        )
        return PdWebhookReply(error=result) if isinstance(result, str) else result

    serve_read(broker, "reads.pd.*.webhooks", webhooks, queue=SPEC.name)
