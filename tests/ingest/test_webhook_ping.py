"""What ingest does for the webhook check, on a real nats-server: a signed ``pagey.ping`` is
announced (never stored), a delivery signed with a secret the check kept in KV (possibly by
another replica) is accepted, the last webhook of a target is noted, and the admin API needs
its token."""

from __future__ import annotations

import asyncio

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.errors import KeyNotFoundError
from pdjira_common import streams
from pdjira_common.webhook_admin import PingReceived, pd_ping_subject, pd_secret_key, seen_key
from pdjira_devstack.waiting import wait_until

from .conftest import Ingest
from .payloads import pd_envelope, pd_incident, pd_ping, pd_signature, to_body
from .test_http import PD_URL, pd_headers

NEW_SECRET = "made-by-pagerduty-at-create-Qk9PTQ"


async def test_a_signed_ping_is_announced_and_never_stored(ingest: Ingest, nc: Client) -> None:
    heard: asyncio.Queue[PingReceived] = asyncio.Queue()

    async def note(message: Msg) -> None:
        heard.put_nowait(msgspec.json.decode(message.data, type=PingReceived))

    await nc.subscribe(pd_ping_subject("acme"), cb=note)
    await nc.flush()
    body = to_body(pd_ping())
    response = await ingest.http.post(
        PD_URL, content=body, headers={**pd_headers(body), "X-Webhook-Subscription": "PSUB42"}
    )
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    ping = await asyncio.wait_for(heard.get(), 5)
    assert (ping.account, ping.subscription_id) == ("acme", "PSUB42")
    assert await ingest.stored() == []

    # An unsigned ping is refused like any webhook, and announced to no one.
    forged = await ingest.http.post(
        PD_URL, content=body, headers={**pd_headers(body), "X-PagerDuty-Signature": "v1=00"}
    )
    assert forged.status_code == 401
    # The next announcement is the next genuine ping's (ingest publishes in order).
    again = await ingest.http.post(
        PD_URL, content=body, headers={**pd_headers(body), "X-Webhook-Subscription": "PSUB43"}
    )
    assert again.status_code == 202
    assert (await asyncio.wait_for(heard.get(), 5)).subscription_id == "PSUB43"


async def test_a_secret_kept_in_kv_is_accepted_and_the_last_webhook_noted(
    ingest: Ingest, nc: Client
) -> None:
    body = to_body(pd_envelope("incident.triggered", pd_incident()))
    signed_new = {**pd_headers(body), "X-PagerDuty-Signature": pd_signature(body, NEW_SECRET)}
    assert (await ingest.http.post(PD_URL, content=body, headers=signed_new)).status_code == 401

    # The check, on another replica, stores the secret of the subscription it created.
    kv = await nc.jetstream().key_value(streams.KV_WEBHOOKS)
    await kv.put(pd_secret_key("acme", "PNEW1"), NEW_SECRET.encode())

    # Ingest reads KV again on a signature that matches nothing (at most every 2 s per
    # account: the refusal above has just read it).
    async def accepted() -> bool:
        response = await ingest.http.post(PD_URL, content=body, headers=signed_new)
        assert response.status_code in (202, 401), response.text
        return response.status_code == 202

    await wait_until(accepted, timeout=10, what="the delivery signed with the KV secret accepted")
    assert len(await ingest.stored()) == 1

    async def seen() -> bytes | None:
        try:
            return (await kv.get(seen_key("pd", "acme"))).value
        except KeyNotFoundError:
            return None

    value = await wait_until(seen, timeout=5, what="the last webhook of acme noted in KV")
    assert msgspec.json.decode(value)["at"]


async def test_the_admin_api_needs_its_token(ingest: Ingest) -> None:
    # The test config has no ingest.admin_token: the API is off and says how to turn it on.
    response = await ingest.http.get("/admin/v1/webhooks")
    assert response.status_code == 503
    assert "ingest.admin_token" in response.json()["error"]
