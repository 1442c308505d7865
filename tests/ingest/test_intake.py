"""Who a delivery is for, whether it is authentic, what it says: the pure decision."""

from __future__ import annotations

import pytest
from pdjira_common.config import Config
from pdjira_common.contracts import IncidentEvent, IssueEvent
from pdjira_common.secrets import known_secret_values
from pdjira_ingest.intake import accept_jira, accept_pagerduty, destination
from pdjira_ingest.normalize import Ignored, WebhookRejected

from .conftest import JIRA_SECRET, JIRA_TOKEN, PD_OLD_SECRET, PD_SECRET
from .payloads import (
    hub_signature,
    jira_issue_created,
    pd_envelope,
    pd_incident,
    pd_ping,
    pd_signature,
    to_body,
)

PD_BODY = to_body(pd_envelope("incident.triggered", pd_incident()))
JIRA_BODY = to_body(jira_issue_created())


@pytest.mark.parametrize(
    ("account", "body", "signature", "status", "code", "message_has"),
    [
        pytest.param(
            "nope", PD_BODY, pd_signature(PD_BODY, PD_SECRET), 404, "unknown_account",
            "/webhooks/pagerduty/<account id>", id="unknown-account",
        ),
        pytest.param(
            "nosecrets", PD_BODY, pd_signature(PD_BODY, PD_SECRET), 401, "invalid_signature",
            "no webhook_secrets configured", id="account-without-secrets",
        ),
        pytest.param(
            "acme", PD_BODY, None, 401, "invalid_signature",
            "X-PagerDuty-Signature is missing", id="missing-signature",
        ),
        pytest.param(
            "acme", PD_BODY, pd_signature(PD_BODY, "someone-else"), 401, "invalid_signature",
            "matches none of the 2 webhook_secrets", id="wrong-secret",
        ),
        pytest.param(
            "acme", b"{not json", pd_signature(b"{not json", PD_SECRET), 400, "invalid_json",
            "not valid JSON", id="signed-garbage",
        ),
        pytest.param(
            "acme", b'{"event": {}}', pd_signature(b'{"event": {}}', PD_SECRET), 400,
            "invalid_payload", "`event.event_type` is missing", id="not-an-envelope",
        ),
    ],
)  # fmt: skip
def test_pagerduty_refusals(
    config: Config,
    account: str,
    body: bytes,
    signature: str | None,
    status: int,
    code: str,
    message_has: str,
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        accept_pagerduty(config, account, body, signature)

    assert (caught.value.status, caught.value.code) == (status, code)
    assert message_has in caught.value.message
    assert not any(secret in caught.value.message for secret in known_secret_values())


@pytest.mark.parametrize("secret", [PD_SECRET, PD_OLD_SECRET])
def test_pagerduty_signed_with_any_configured_secret_is_accepted(
    config: Config, secret: str
) -> None:
    event = accept_pagerduty(config, "acme", PD_BODY, pd_signature(PD_BODY, secret))
    assert isinstance(event, IncidentEvent)
    assert destination(event).subject == "events.pd.acme.PGR0VU2"
    assert destination(event).msg_id == "pd:acme:5ac64822-4adc-4fda-ade0-410becf0de4f"


def test_pagerduty_ping_is_ignored_after_the_signature_check(config: Config) -> None:
    body = to_body(pd_ping())
    with pytest.raises(WebhookRejected):
        accept_pagerduty(config, "acme", body, None)
    assert isinstance(
        accept_pagerduty(config, "acme", body, pd_signature(body, PD_SECRET)), Ignored
    )


@pytest.mark.parametrize(
    ("instance", "body", "signature", "status", "code", "message_has"),
    [
        pytest.param(
            "nope", JIRA_BODY, None, 404, "unknown_instance",
            "/webhooks/jira/<instance id>", id="unknown-instance",
        ),
        pytest.param(
            "dc1", JIRA_BODY, None, 401, "invalid_signature",
            "X-Hub-Signature is missing", id="missing-signature",
        ),
        pytest.param(
            "dc1", JIRA_BODY, hub_signature(JIRA_BODY, "wrong"), 401, "invalid_signature",
            "does not match the webhook_secret", id="wrong-secret",
        ),
        pytest.param(
            "legacy", JIRA_BODY, None, 401, "invalid_token", "has no ?token=",
            id="token-instance-without-token",
        ),
    ],
)  # fmt: skip
def test_jira_refusals(
    config: Config,
    instance: str,
    body: bytes,
    signature: str | None,
    status: int,
    code: str,
    message_has: str,
) -> None:
    with pytest.raises(WebhookRejected) as caught:
        accept_jira(config, instance, body, signature)

    assert (caught.value.status, caught.value.code) == (status, code)
    assert message_has in caught.value.message
    assert not any(secret in caught.value.message for secret in known_secret_values())


def test_jira_signed_instance_accepts_valid_signature(config: Config) -> None:
    event = accept_jira(config, "dc1", JIRA_BODY, hub_signature(JIRA_BODY, JIRA_SECRET))
    assert isinstance(event, IssueEvent)
    assert destination(event).subject == "events.jira.dc1.10100"
    assert destination(event).msg_id == event.event_id
    assert event.event_id.startswith("jira:dc1:")


def test_unknown_target_does_not_list_the_configured_ones(config: Config) -> None:
    with pytest.raises(WebhookRejected) as pd:
        accept_pagerduty(config, "nope", PD_BODY, None)
    with pytest.raises(WebhookRejected) as jira:
        accept_jira(config, "nope", JIRA_BODY, None)
    for message in (pd.value.message, jira.value.message):
        assert not any(name in message for name in ("acme", "nosecrets", "dc1", "legacy"))


def test_jira_instance_with_url_token_accepts_its_token(config: Config) -> None:
    assert isinstance(accept_jira(config, "legacy", JIRA_BODY, None, token=JIRA_TOKEN), IssueEvent)


@pytest.mark.parametrize("token", ["", "guess", JIRA_TOKEN + "x", JIRA_TOKEN[:-1], "\udcff"])
def test_jira_instance_with_url_token_refuses_others(config: Config, token: str) -> None:
    with pytest.raises(WebhookRejected) as caught:
        accept_jira(config, "legacy", b"<xml/>", None, token=token)
    assert (caught.value.status, caught.value.code) == (401, "invalid_token")
    assert JIRA_TOKEN not in caught.value.message


def test_jira_instance_with_secret_ignores_a_token_alone(config: Config) -> None:
    with pytest.raises(WebhookRejected) as caught:
        accept_jira(config, "dc1", JIRA_BODY, None, token=JIRA_TOKEN)
    assert caught.value.status == 401
