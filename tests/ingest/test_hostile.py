"""Each check against hostile webhooks on its own: what is refused, with which answer."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from pdjira_common.config import Config
from pdjira_ingest.app import ENVELOPE_HEADROOM, MAX_BODY_BYTES, body_limit
from pdjira_ingest.fields import check_shape, shape_check_needed
from pdjira_ingest.intake import accept_jira, accept_pagerduty
from pdjira_ingest.normalize import WebhookRejected

from .conftest import JIRA_SECRET, PD_SECRET, Ingest
from .payloads import (
    hub_signature,
    jira_issue_created,
    jira_issue_updated,
    pd_annotated,
    pd_envelope,
    pd_incident,
    pd_signature,
    to_body,
)


def _pd(config: Config, body: bytes) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        accept_pagerduty(config, "acme", body, pd_signature(body, PD_SECRET))
    return caught.value


def _jira(config: Config, body: bytes) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        accept_jira(config, "dc1", body, hub_signature(body, JIRA_SECRET))
    return caught.value


def _pd_body() -> bytes:
    return to_body(pd_envelope("incident.triggered", pd_incident()))


@pytest.mark.parametrize(
    ("body", "code", "says"),
    [
        pytest.param(b'{"event": "\xff"}', "invalid_encoding", "UTF-8", id="invalid-utf8"),
        pytest.param(b'{"a": "\xed\xa0\x80"}', "invalid_encoding", "UTF-8", id="utf8-surrogate"),
        pytest.param(b'{"a": "\\ud800"}', "invalid_json", "JSON", id="lone-surrogate"),
        pytest.param(b'{"a": "\\udc00x"}', "invalid_json", "JSON", id="lone-low-surrogate"),
        pytest.param(b"[" * 65 + b"]" * 65, "too_deep", "64 levels", id="depth-65"),
        pytest.param(b"[" * 5_000 + b"]" * 5_000, "too_deep", "too deep", id="depth-5000"),
        pytest.param(b"[" * 200_000, "too_deep", "too deep", id="unclosed-200000"),
        pytest.param(b'{"a": 1e400}', "invalid_json", "out of range", id="1e400"),
        pytest.param(b'{"a": ' + b"9" * 30 + b"}", "invalid_field", "64 bits", id="huge-int"),
    ],
)
def test_undecodable_bodies_are_400(config: Config, body: bytes, code: str, says: str) -> None:
    for refused in (_pd(config, body), _jira(config, body)):
        assert (refused.status, refused.code) == (400, code)
        assert says in refused.message


def _pd_with(change: Any) -> bytes:
    payload = pd_envelope("incident.triggered", pd_incident())
    change(payload["event"])
    return to_body(payload)


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        (lambda e: e.update(id="E" * 5_000), "event.id", "at most 128"),
        (lambda e: e.update(id="a.b"), "event.id", "letters, digits"),
        (lambda e: e["data"].update(id="P" * 129), "event.data.id", "at most 128"),
        (lambda e: e["data"].update(id="P>"), "event.data.id", "letters, digits"),
        (lambda e: e["data"]["service"].update(id="s v"), "event.data.service.id", "letters"),
        (lambda e: e["agent"].update(id="*"), "event.agent.id", "letters, digits"),
        (lambda e: e["data"].update(number=-1), "event.data.number", "not between 0"),
        (lambda e: e.update(occurred_at="0001-01-01T00:00:00Z"), "event.occurred_at", "year 1,"),
        (lambda e: e.update(occurred_at="9999-01-01T00:00:00Z"), "event.occurred_at", "2100"),
        (lambda e: e.update(occurred_at="yesterday"), "event.occurred_at", "not an ISO 8601"),
    ],
)
def test_pagerduty_ids_times_and_numbers_are_checked(
    config: Config, change: Any, field: str, says: str
) -> None:
    refused = _pd(config, _pd_with(change))
    assert (refused.status, refused.code) == (400, "invalid_field")
    assert f"`{field}`" in refused.message
    assert says in refused.message
    assert "E" * 200 not in refused.message  # the value itself is never echoed


def test_pagerduty_note_ids_are_checked(config: Config) -> None:
    payload = pd_annotated(note_id="n" * 300)
    refused = _pd(config, to_body(payload))
    assert "`event.data.id`" in refused.message


def _jira_with(change: Any, *, updated: bool = False) -> bytes:
    payload = (
        jira_issue_updated([{"field": "status", "from": "1", "to": "3"}])
        if updated
        else jira_issue_created()
    )
    change(payload)
    return to_body(payload)


@pytest.mark.parametrize(
    ("change", "updated", "field", "code", "says"),
    [
        (lambda p: p.update(timestamp=10**18), False, "timestamp", "invalid_field", "2100"),
        (lambda p: p.update(timestamp=-1), False, "timestamp", "invalid_field", "milliseconds"),
        (lambda p: p.update(timestamp=1e18), False, "timestamp", "invalid_payload", "integer"),
        (lambda p: p["issue"].update(id="9" * 5_000), False, "issue.id", "invalid_field", "128"),
        (lambda p: p["issue"].update(key="OPS 4"), False, "issue.key", "invalid_field", "letters"),
        (lambda p: p["issue"].update(key="OPS.4"), False, "issue.key", "invalid_field", "letters"),
        (lambda p: p["changelog"].update(id="1.2"), True, "changelog.id", "invalid_field", "let"),
        (lambda p: p["user"].update(key="u" * 300), False, "user.key", "invalid_field", "255"),
    ],
)
def test_jira_ids_and_times_are_checked(
    config: Config, change: Any, updated: bool, field: str, code: str, says: str
) -> None:
    refused = _jira(config, _jira_with(change, updated=updated))
    assert (refused.status, refused.code) == (400, code)
    assert f"`{field}`" in refused.message
    assert says in refused.message


def test_jira_comment_id_is_checked(config: Config) -> None:
    comment = {"id": "10082/..", "body": "hi"}
    body = to_body(jira_issue_updated(event_type_name="issue_commented", comment=comment))
    assert "`comment.id`" in _jira(config, body).message


def test_body_limit_stays_under_the_broker_payload() -> None:
    assert body_limit(MAX_BODY_BYTES, 1024 * 1024) == 1024 * 1024 - ENVELOPE_HEADROOM
    assert body_limit(100_000, 8 * 1024 * 1024) == 100_000
    assert body_limit(MAX_BODY_BYTES, 10) == 0


async def test_body_over_the_broker_limit_is_413_naming_it(ingest: Ingest) -> None:
    limit = ingest.app.state.webhooks.max_body_bytes
    assert limit == 1024 * 1024 - ENVELOPE_HEADROOM  # nats-server's default max_payload: 1 MiB
    body = b'{"x": "' + b"x" * (limit + 10) + b'"}'
    response = await ingest.http.post(
        "/webhooks/pagerduty/acme",
        content=body,
        headers={"X-PagerDuty-Signature": pd_signature(body, PD_SECRET)},
    )
    assert response.status_code == 413
    assert str(limit) in response.json()["error"]["message"]
    assert await ingest.stored() == []


async def test_event_bigger_than_the_broker_takes_is_413_not_503(ingest: Ingest) -> None:
    webhooks = ingest.app.state.webhooks
    webhooks.limit_to(ENVELOPE_HEADROOM + 20_000)  # as if nats-server allowed only that
    payload = jira_issue_created()
    for n in range(20):  # tiny values that each become a FieldValue: the event outgrows the body
        payload["issue"]["fields"][f"customfield_{10_000 + n}"] = [1] * 100
    body = to_body(payload)
    assert len(body) < 20_000
    response = await ingest.http.post(
        "/webhooks/jira/dc1",
        content=body,
        headers={"X-Hub-Signature": hub_signature(body, JIRA_SECRET)},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "event_too_large"
    assert await ingest.stored() == []


@pytest.mark.parametrize(
    ("body", "needed"),
    [
        pytest.param(b"[" * 64 + b"]" * 64, False, id="depth-64"),
        pytest.param(b"[" * 65 + b"]" * 65, True, id="depth-65"),
        pytest.param(b'{"a": [' + b"{}," * 70 + b"{}]}", True, id="many-shallow"),
        pytest.param(b'{"a": "' + b"[" * 80 + b'"}', True, id="brackets-in-a-string"),
        pytest.param(b'{"a": 9223372036854775807}', True, id="max-int"),
        pytest.param(b'{"a": 9223372036854775808}', True, id="max-int-plus-one"),
        pytest.param(b'{"a": -' + b"9" * 30 + b"}", True, id="30-digits-negative"),
        pytest.param(b'{"a": "' + b"1" * 40 + b'"}', True, id="digits-in-a-string"),
        pytest.param(b'{"a": -999999999999999999}', False, id="18-digits"),
        pytest.param(_pd_body(), False, id="a-webhook"),
    ],
)
def test_the_shape_check_is_skipped_only_for_bodies_it_would_pass(
    body: bytes, needed: bool
) -> None:
    assert shape_check_needed(body) is needed
    if not needed:
        check_shape(msgspec.json.decode(body))  # passes: skipping it changes nothing
