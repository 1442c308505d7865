"""The pd-writer's side of the webhook check: PagerDuty's subscription JSON read leniently, the
bodies it sends (PUT cannot change the URL), the secret of a create passed on once."""

from __future__ import annotations

from typing import Any

from pdjira_common.webhook_admin import PdSubscription, PdWebhookRequest
from pdjira_pd_writer.webhooks import answer, create_body, read_subscription, update_body

RAW = {
    "id": "PSUB1",
    "type": "webhook_subscription",
    "active": False,
    "delivery_method": {
        "id": "PDM1",
        "secret": None,
        "temporarily_disabled": True,
        "type": "http_delivery_method",
        "url": "https://pdjira.example.com/webhooks/pagerduty/acme",
    },
    "description": "pdjira",
    "events": ["incident.triggered"],
    "filter": {"type": "service_reference", "id": "PSVC1"},
}


class FakePd:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str, Any]] = []

    async def webhook_subscriptions(self) -> list[dict[str, Any]]:
        return [RAW, {"id": "PBROKEN"}]

    async def webhook_subscription_call(
        self, method: str, path: str, what: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.calls.append((method, path, body))
        return self.answer


def test_a_subscription_is_read_and_written_back_as_pagerduty_wants() -> None:
    sub = read_subscription(RAW)
    assert (sub.id, sub.active, sub.temporarily_disabled) == ("PSUB1", False, True)
    assert (sub.filter_type, sub.filter_id) == ("service_reference", "PSVC1")
    created = create_body(sub)["webhook_subscription"]
    assert created["delivery_method"] == {"type": "http_delivery_method", "url": sub.url}
    assert created["type"] == "webhook_subscription"
    assert "delivery_method" not in update_body(sub)["webhook_subscription"]


async def test_list_is_lenient_and_create_passes_the_secret_on() -> None:
    pd = FakePd(
        {
            "webhook_subscription": {
                **RAW,
                "id": "PNEW",
                "delivery_method": {**RAW["delivery_method"], "secret": "shown-once"},
            }
        }
    )
    listed = await answer(pd, PdWebhookRequest(account="acme", op="list"))
    assert [s.id for s in listed.subscriptions] == ["PSUB1", "PBROKEN"]
    want = PdSubscription(
        url="https://pdjira.example.com/webhooks/pagerduty/acme", events=("incident.triggered",)
    )
    created = await answer(pd, PdWebhookRequest(account="acme", op="create", subscription=want))
    assert created.created_secret == "shown-once"
    assert [s.id for s in created.subscriptions] == ["PNEW"]
    assert "shown-once" not in repr(created)
    await answer(pd, PdWebhookRequest(account="acme", op="ping", subscription_id="PNEW"))
    assert pd.calls[-1] == ("POST", "/PNEW/ping", None)
