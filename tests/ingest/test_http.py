"""The webhook endpoints against a real nats-server: what is answered, and what is stored."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import httpx
import pdjira_ingest.app as app_module
import pytest
from pdjira_common import streams
from pdjira_common.bus import CORRELATION_HEADER, MSG_ID_HEADER, make_broker, publish
from pdjira_common.config import RetrySettings
from pdjira_common.contracts import IncidentEvent, IssueEvent, decode_event
from pdjira_common.logging import configure_logging
from pdjira_common.subjects import unpartitioned
from pdjira_devstack.nats_server import NatsServer
from support.logs import configure_test_logging

from .conftest import JIRA_SECRET, JIRA_TOKEN, PD_SECRET, Ingest
from .payloads import (
    hub_signature,
    jira_comment_created,
    jira_issue_updated,
    pd_envelope,
    pd_incident,
    pd_ping,
    pd_signature,
    to_body,
)

PD_URL = "/webhooks/pagerduty/acme"
JIRA_URL = "/webhooks/jira/dc1"


def pd_headers(body: bytes, secret: str = PD_SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "PagerDuty-Webhook/V3.0",
        "X-PagerDuty-Signature": pd_signature(body, secret),
        "X-Webhook-Id": "4a6f3ae3-6c8a-4c8e-8b1c-4c7b8f0e7c52",
    }


def jira_headers(body: bytes, secret: str = JIRA_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature": hub_signature(body, secret)}


def counted(ingest: Ingest, source: str, outcome: str, reason: str) -> float:
    value = ingest.metrics.registry.get_sample_value(
        "pdjira_ingest_webhooks_total", {"source": source, "outcome": outcome, "reason": reason}
    )
    return value or 0.0


TRIGGERED_ID = "pd:acme:5ac64822-4adc-4fda-ade0-410becf0de4f"


async def test_pagerduty_event_is_stored_before_202(ingest: Ingest) -> None:
    body = to_body(pd_envelope("incident.triggered", pd_incident()))

    response = await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))

    assert response.status_code == 202
    assert response.json() == {
        "status": "accepted",
        "event_id": TRIGGERED_ID,
        "duplicate": False,
    }
    # No waiting: a 202 means JetStream already acknowledged storing it.
    [stored] = await ingest.stored()
    assert unpartitioned(stored.subject) == "events.pd.acme.PGR0VU2"
    assert stored.headers is not None
    assert stored.headers[MSG_ID_HEADER] == TRIGGERED_ID
    event = decode_event(stored.data or b"")
    assert isinstance(event, IncidentEvent)
    assert event.facts is not None
    assert event.facts.service is not None
    assert (event.incident_id, event.status, event.facts.service.id) == (
        "PGR0VU2",
        "triggered",
        "PF9KMXH",
    )
    assert counted(ingest, "pagerduty", "accepted", "stored") == 1


async def test_stored_headers_are_those_of_the_bus_publish(
    ingest: Ingest, nats_server: NatsServer
) -> None:
    # Ingest publishes with nats-py directly: its messages carry what pdjira_common.bus.publish
    # (FastStream) sends, header for header and in the same order.
    body = to_body(pd_envelope("incident.triggered", pd_incident()))
    assert (await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))).is_success
    broker = make_broker(nats_server.url, consumer="test", retry=RetrySettings())
    await broker.connect()
    try:
        await publish(
            broker,
            b"{}",
            "events.pd.acme.POTHER",
            stream=streams.EVENTS,
            msg_id="other",
            correlation_id="other-correlation",
        )
    finally:
        await broker.stop()
    webhook, published = await ingest.stored()
    assert webhook.headers is not None
    assert published.headers is not None
    assert list(webhook.headers) == list(published.headers)
    assert published.headers["correlation_id"] == "other-correlation"
    assert webhook.headers["correlation_id"] == webhook.headers[CORRELATION_HEADER] == TRIGGERED_ID
    assert webhook.headers["content-type"] == published.headers["content-type"]


async def test_same_pagerduty_webhook_twice_is_stored_once(ingest: Ingest) -> None:
    body = to_body(pd_envelope("incident.acknowledged", pd_incident(status="acknowledged")))

    first = await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))
    second = await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))

    assert (first.status_code, second.status_code) == (202, 202)
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert len(await ingest.stored()) == 1
    assert counted(ingest, "pagerduty", "duplicate", "already_stored") == 1


async def test_redelivery_with_a_new_body_but_same_event_id_is_stored_once(ingest: Ingest) -> None:
    # PagerDuty re-renders nothing between retries, but dedup must not depend on byte equality.
    one = to_body(pd_envelope("incident.triggered", pd_incident()))
    two = to_body(pd_envelope("incident.triggered", pd_incident(title="edited")))
    await ingest.http.post(PD_URL, content=one, headers=pd_headers(one))
    await ingest.http.post(PD_URL, content=two, headers=pd_headers(two))
    assert len(await ingest.stored()) == 1


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content-Type": "application/json"}, id="missing"),
        pytest.param({"X-PagerDuty-Signature": "v1=" + "00" * 32}, id="wrong"),
        pytest.param({"X-PagerDuty-Signature": "v1=nothex"}, id="garbage"),
    ],
)
async def test_unsigned_or_badly_signed_pagerduty_is_401_and_not_stored(
    ingest: Ingest, headers: dict[str, str]
) -> None:
    body = to_body(pd_envelope("incident.triggered", pd_incident()))

    response = await ingest.http.post(PD_URL, content=body, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert response.json()["error"]["message"]
    assert await ingest.stored() == []
    assert counted(ingest, "pagerduty", "rejected", "invalid_signature") == 1


async def test_signed_with_the_other_accounts_secret_is_refused(ingest: Ingest) -> None:
    body = to_body(pd_envelope("incident.triggered", pd_incident()))
    response = await ingest.http.post(
        "/webhooks/pagerduty/nosecrets", content=body, headers=pd_headers(body)
    )
    assert response.status_code == 401
    assert "webhook_secrets" in response.json()["error"]["message"]
    assert await ingest.stored() == []


async def test_non_json_is_400_and_not_stored(ingest: Ingest) -> None:
    body = b"event=incident.triggered&id=1"
    response = await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"
    assert await ingest.stored() == []


async def test_json_that_is_not_an_envelope_is_400_naming_the_field(ingest: Ingest) -> None:
    body = to_body({"event": {"event_type": "incident.triggered", "id": "X"}})
    response = await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))
    assert response.status_code == 400
    assert "`event.occurred_at` is missing" in response.json()["error"]["message"]
    assert await ingest.stored() == []


async def test_unknown_account_is_404_not_naming_the_configured_ones(ingest: Ingest) -> None:
    body = to_body(pd_envelope("incident.triggered", pd_incident()))
    response = await ingest.http.post(
        "/webhooks/pagerduty/other", content=body, headers=pd_headers(body)
    )
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert "/webhooks/pagerduty/<account id>" in message
    assert "acme" not in message
    assert "nosecrets" not in message
    assert await ingest.stored() == []


async def test_ping_is_202_ignored_and_not_stored(ingest: Ingest) -> None:
    body = to_body(pd_ping())
    response = await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert "pagey.ping" in response.json()["reason"]
    assert await ingest.stored() == []


async def test_oversized_body_is_413(ingest: Ingest) -> None:
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    response = await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


async def test_jira_status_change_is_stored_once(ingest: Ingest) -> None:
    items = [{"field": "status", "fieldtype": "jira", "from": "1", "fromString": "Open",
              "to": "3", "toString": "In Progress"}]  # fmt: skip
    body = to_body(jira_issue_updated(items))

    first = await ingest.http.post(JIRA_URL, content=body, headers=jira_headers(body))
    second = await ingest.http.post(JIRA_URL, content=body, headers=jira_headers(body))

    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json()["duplicate"] is True
    [stored] = await ingest.stored()
    assert unpartitioned(stored.subject) == "events.jira.dc1.10100"
    event = decode_event(stored.data or b"")
    assert isinstance(event, IssueEvent)
    assert stored.headers is not None
    assert stored.headers[MSG_ID_HEADER] == event.event_id == first.json()["event_id"]
    change = event.changed("status")
    assert change is not None
    assert change.to_string == "In Progress"


async def test_jira_different_bodies_are_different_events(ingest: Ingest) -> None:
    for timestamp in (1565751753681, 1565751753682):
        body = to_body(jira_issue_updated(timestamp=timestamp))
        response = await ingest.http.post(JIRA_URL, content=body, headers=jira_headers(body))
        assert response.json()["duplicate"] is False
    assert len(await ingest.stored()) == 2


@pytest.mark.parametrize(
    ("url", "headers", "status"),
    [
        pytest.param(JIRA_URL, {}, 401, id="signed-instance-missing-signature"),
        pytest.param(JIRA_URL, {"X-Hub-Signature": "sha256=00"}, 401, id="wrong-signature"),
        pytest.param("/webhooks/jira/unknown", {}, 404, id="unknown-instance"),
        pytest.param("/webhooks/jira/legacy", {}, 401, id="token-instance-without-token"),
        pytest.param("/webhooks/jira/legacy?token=guess", {}, 401, id="token-instance-wrong-token"),
        pytest.param(f"/webhooks/jira/dc1?token={JIRA_TOKEN}", {}, 401, id="other-instance-token"),
    ],
)
async def test_jira_refusals_store_nothing(
    ingest: Ingest, url: str, headers: dict[str, str], status: int
) -> None:
    body = to_body(jira_issue_updated())
    response = await ingest.http.post(url, content=body, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"]
    assert await ingest.stored() == []


async def test_jira_url_token_instance_and_ignored_events(ingest: Ingest) -> None:
    body = to_body(jira_issue_updated())
    url = f"/webhooks/jira/legacy?token={JIRA_TOKEN}"
    assert (await ingest.http.post(url, content=body)).status_code == 202
    other = to_body(jira_comment_created())
    response = await ingest.http.post(url, content=other)
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert len(await ingest.stored()) == 1


async def test_health_and_metrics(ingest: Ingest) -> None:
    body = b"nope"
    await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))

    assert (await ingest.http.get("/health")).status_code == 200
    metrics = await ingest.http.get("/metrics")
    assert metrics.status_code == 200
    assert (
        'pdjira_ingest_webhooks_total{outcome="rejected",reason="invalid_json",source="pagerduty"}'
        " 1.0" in metrics.text
    )


async def test_nats_down_is_503_so_the_vendor_retries(
    ingest: Ingest, nats_server: NatsServer
) -> None:
    nats_server.stop()
    body = to_body(pd_envelope("incident.triggered", pd_incident()))

    response = await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"]
    assert (await ingest.http.get("/health")).status_code == 503
    assert counted(ingest, "pagerduty", "failed", "nats_unavailable") == 1


@pytest.fixture
def log_output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    configure_logging("ingest", "debug")
    yield buffer
    configure_test_logging()


async def test_rejections_are_logged_without_secrets_or_body(
    ingest: Ingest, log_output: io.StringIO
) -> None:
    body = to_body(pd_envelope("incident.triggered", pd_incident(title="customer-data-123")))
    wrong = pd_signature(body, "attacker-secret")

    await ingest.http.post(PD_URL, content=body, headers={"X-PagerDuty-Signature": wrong})
    await ingest.http.post(JIRA_URL, content=body, headers={"X-Hub-Signature": "sha256=00"})

    lines = log_output.getvalue()
    assert lines.count('"event": "webhook_rejected"') == 2
    assert '"code": "invalid_signature"' in lines
    for forbidden in (PD_SECRET, JIRA_SECRET, "customer-data-123", wrong.removeprefix("v1=")):
        assert forbidden not in lines


def _requests() -> list[tuple[str, bytes, dict[str, str]]]:
    pd = to_body(pd_envelope("incident.triggered", pd_incident()))
    jira = to_body(jira_issue_updated())
    return [
        (PD_URL, pd, {"X-PagerDuty-Signature": "v1=" + "00" * 32}),
        (PD_URL, pd, {}),
        ("/webhooks/pagerduty/other", pd, pd_headers(pd)),
        ("/webhooks/pagerduty/nosecrets", pd, pd_headers(pd)),
        (PD_URL, b"nope", pd_headers(b"nope")),
        (PD_URL, b"[" * 70 + b"]" * 70, pd_headers(b"[" * 70 + b"]" * 70)),
        (PD_URL, to_body(pd_ping()), pd_headers(to_body(pd_ping()))),
        (PD_URL, b"{" + b" " * (2 * 1024 * 1024) + b"}", {"Content-Type": "application/json"}),
        (JIRA_URL, jira, {"X-Hub-Signature": "sha256=00"}),
        ("/webhooks/jira/legacy?token=guess", jira, {}),
        (f"/webhooks/jira/legacy?token={JIRA_TOKEN}", to_body(jira_comment_created()), {}),
        (PD_URL, pd, pd_headers(pd)),  # stored: the second answer is the duplicate
        (JIRA_URL, jira, jira_headers(jira)),
    ]


async def test_webhook_answers_are_those_of_the_routed_endpoints(ingest: Ingest) -> None:
    # The app serves webhook POSTs itself; with a root_path they go through Starlette's router
    # and its endpoints: both answer the same, header for header.
    routed = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ingest.app, root_path="/prefix"),
        base_url="http://ingest.test",
    )
    async with routed:
        for url, body, headers in _requests():
            fast = await ingest.http.post(url, content=body, headers=headers)
            slow = await routed.post("/prefix" + url, content=body, headers=headers)
            assert fast.status_code == slow.status_code, url
            if fast.status_code == 202 and "event_id" in fast.json():
                # Stored by the first: the second is its duplicate (and one byte longer).
                assert (fast.json()["duplicate"], slow.json()["duplicate"]) == (False, True)
                assert fast.json() | {"duplicate": True} == slow.json()
                assert (
                    list(fast.headers) == list(slow.headers) == ["content-length", "content-type"]
                )
                assert fast.headers["content-type"] == slow.headers["content-type"]
            else:
                assert fast.headers.items() == slow.headers.items(), url
                assert fast.content == slow.content, url
    assert len(await ingest.stored()) == 2


async def test_an_unexpected_failure_is_a_500_raised_on(
    ingest: Ingest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(app_module, "accept_pagerduty", broken)
    body = to_body(pd_envelope("incident.triggered", pd_incident()))
    with pytest.raises(RuntimeError):
        await ingest.http.post(PD_URL, content=body, headers=pd_headers(body))
    quiet = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=ingest.app, raise_app_exceptions=False),
        base_url="http://ingest.test",
    )
    async with quiet:
        response = await quiet.post(PD_URL, content=body, headers=pd_headers(body))
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


async def test_other_methods_and_paths_are_the_routers(ingest: Ingest) -> None:
    assert (await ingest.http.get(PD_URL)).status_code == 405
    assert (await ingest.http.post("/webhooks/pagerduty/")).status_code == 404
    assert (await ingest.http.post("/webhooks/pagerduty/acme/x")).status_code == 404
    assert (await ingest.http.post(PD_URL + "/")).status_code == 307  # the router's redirect
