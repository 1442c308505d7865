"""From an HTTP delivery (target id, raw body, signature header) to an event, or a refusal.

Pure: the config is passed in, nothing is read or written. The order of checks is the order of
trust: who it is for (404), whether it is authentic (401), then what it says (400).
"""

from __future__ import annotations

from typing import Any

import msgspec
from pdjira_common import subjects
from pdjira_common.config import Config
from pdjira_common.contracts import IncidentEvent, IssueEvent

from pdjira_ingest.fields import WebhookRejected
from pdjira_ingest.normalize import (
    Ignored,
    jira_event_id,
    normalize_jira,
    normalize_pagerduty,
)
from pdjira_ingest.signatures import verify_hub_signature, verify_pagerduty_signature

__all__ = [
    "HUB_SIGNATURE_HEADER",
    "PAGERDUTY_SIGNATURE_HEADER",
    "Destination",
    "accept_jira",
    "accept_pagerduty",
    "destination",
]

PAGERDUTY_SIGNATURE_HEADER = "X-PagerDuty-Signature"
HUB_SIGNATURE_HEADER = "X-Hub-Signature"


class Destination(msgspec.Struct, frozen=True, kw_only=True):
    """Where an event is stored: subject in stream EVENTS and its ``Nats-Msg-Id``."""

    subject: str
    msg_id: str


def _shown(value: str) -> str:
    # Path segments are attacker-controlled: keep error messages and log lines short.
    return repr(value if len(value) <= 64 else value[:64] + "...")


def _decode_json(raw_body: bytes, source: str) -> Any:
    try:
        return msgspec.json.decode(raw_body)
    except msgspec.DecodeError as exc:
        raise WebhookRejected(
            400,
            "invalid_json",
            f"the body is not valid JSON ({exc}); {source} webhooks must be sent as JSON "
            "with Content-Type: application/json.",
        ) from None


def accept_pagerduty(
    config: Config, account_id: str, raw_body: bytes, signature: str | None
) -> IncidentEvent | Ignored:
    """Check and normalize one PagerDuty v3 delivery; raises WebhookRejected."""
    try:
        account = config.account(account_id)
    except KeyError:
        configured = sorted(a.id for a in config.pagerduty_accounts)
        raise WebhookRejected(
            404,
            "unknown_account",
            f"no PagerDuty account {_shown(account_id)} is configured; configured accounts: "
            f"{configured}. Point the webhook subscription at /webhooks/pagerduty/<account id>.",
        ) from None
    if not account.webhook_secrets:
        raise WebhookRejected(
            401,
            "invalid_signature",
            f"PagerDuty account {account.id!r} has no webhook_secrets configured, so every "
            "webhook is refused; add the subscription's signing secret to "
            f"pagerduty_accounts[id={account.id}].webhook_secrets.",
        )
    if not signature:
        raise WebhookRejected(
            401,
            "invalid_signature",
            f"header {PAGERDUTY_SIGNATURE_HEADER} is missing; only signed PagerDuty v3 webhooks "
            "are accepted.",
        )
    secrets = [secret.reveal() for secret in account.webhook_secrets]
    if not verify_pagerduty_signature(raw_body, signature, secrets):
        raise WebhookRejected(
            401,
            "invalid_signature",
            f"{PAGERDUTY_SIGNATURE_HEADER} matches none of the {len(secrets)} webhook_secrets "
            f"of account {account.id!r}; if the subscription was re-created, add its new secret "
            "(keep the old one until the rotation is done).",
        )
    return normalize_pagerduty(account.id, _decode_json(raw_body, "PagerDuty"))


def accept_jira(
    config: Config, instance_id: str, raw_body: bytes, signature: str | None
) -> IssueEvent | Ignored:
    """Check and normalize one Jira Server/DC delivery; raises WebhookRejected."""
    try:
        instance = config.instance(instance_id)
    except KeyError:
        configured = sorted(j.id for j in config.jira_instances)
        raise WebhookRejected(
            404,
            "unknown_instance",
            f"no Jira instance {_shown(instance_id)} is configured; configured instances: "
            f"{configured}. Point the Jira webhook at /webhooks/jira/<instance id>.",
        ) from None
    if instance.webhook_secret is not None:
        if not signature:
            raise WebhookRejected(
                401,
                "invalid_signature",
                f"header {HUB_SIGNATURE_HEADER} is missing but Jira instance {instance.id!r} "
                "has a webhook_secret; set the same secret on the webhook in Jira.",
            )
        if not verify_hub_signature(raw_body, signature, instance.webhook_secret.reveal()):
            raise WebhookRejected(
                401,
                "invalid_signature",
                f"{HUB_SIGNATURE_HEADER} does not match the webhook_secret of Jira instance "
                f"{instance.id!r}; set the same secret on the webhook in Jira.",
            )
    payload = _decode_json(raw_body, "Jira")
    return normalize_jira(instance.id, payload, event_id=jira_event_id(instance.id, raw_body))


def destination(event: IncidentEvent | IssueEvent) -> Destination:
    """Subject and dedup id of an event: its event id, stable across the vendor's redeliveries
    and the same for the poller's copy of the change (see stable_ids)."""
    if isinstance(event, IncidentEvent):
        subject = subjects.event_pd(event.account, event.incident_id)
    else:
        subject = subjects.event_jira(event.instance, event.issue_id)
    return Destination(subject=subject, msg_id=event.event_id)
