"""From an HTTP delivery (target id, raw body, signature header) to an event, or a refusal.

Pure: the config is passed in, nothing is read or written. The order of checks is the order of
trust: who it is for (404), whether it is authentic (401), then what it says (400).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec
from pdjira_common import subjects
from pdjira_common.config import Config
from pdjira_common.contracts import IncidentEvent, IssueEvent

from pdjira_ingest.fields import MAX_DEPTH, WebhookRejected, check_shape, shape_check_needed
from pdjira_ingest.normalize import (
    Ignored,
    jira_event_id,
    normalize_jira,
    normalize_pagerduty,
)
from pdjira_ingest.signatures import verify_hub_signature, verify_pagerduty_signature

__all__ = [
    "HUB_SIGNATURE_HEADER",
    "JIRA_TOKEN_PARAMETER",
    "PAGERDUTY_SIGNATURE_HEADER",
    "Destination",
    "accept_jira",
    "accept_pagerduty",
    "destination",
    "normalized",
]

PAGERDUTY_SIGNATURE_HEADER = "X-PagerDuty-Signature"
HUB_SIGNATURE_HEADER = "X-Hub-Signature"
JIRA_TOKEN_PARAMETER = "token"  # noqa: S105  # the name of /webhooks/jira/<id>?token=...
_T = TypeVar("_T")


class Destination(msgspec.Struct, frozen=True, kw_only=True):
    """Where an event is stored: subject in stream EVENTS and its ``Nats-Msg-Id``."""

    subject: str
    msg_id: str


def _shown(value: str) -> str:
    # Path segments are attacker-controlled: keep error messages and log lines short.
    return repr(value if len(value) <= 64 else value[:64] + "...")


def _decode_json(raw_body: bytes, source: str) -> Any:
    """The decoded body; 400 for anything that is not JSON in UTF-8 of a sane shape."""
    try:
        payload = msgspec.json.decode(raw_body)
    except UnicodeDecodeError as exc:
        raise WebhookRejected(
            400,
            "invalid_encoding",
            f"the body is not valid UTF-8 ({exc.reason}); {source} webhooks are JSON in UTF-8.",
        ) from None
    except RecursionError:
        raise WebhookRejected(
            400,
            "too_deep",
            f"the body's JSON is nested too deep to read; {source} webhooks nest a few levels, "
            f"ingest takes at most {MAX_DEPTH}.",
        ) from None
    except msgspec.DecodeError as exc:
        raise WebhookRejected(
            400,
            "invalid_json",
            f"the body is not valid JSON ({exc}); {source} webhooks must be sent as JSON "
            "with Content-Type: application/json.",
        ) from None
    if shape_check_needed(raw_body):
        check_shape(payload)
    return payload


def normalized(read: Callable[[], _T]) -> _T:
    """``read()``, with any failure to read the payload a 400 rather than a 500: a hostile body
    must never make the vendor retry (or us log a traceback per request)."""
    try:
        return read()
    except WebhookRejected:
        raise
    except (RecursionError, UnicodeError, ValueError, TypeError, OverflowError) as exc:
        raise WebhookRejected(
            400,
            "invalid_payload",
            f"the body could not be read as a webhook ({type(exc).__name__})",
        ) from None


def accept_pagerduty(
    config: Config,
    account_id: str,
    raw_body: bytes,
    signature: str | None,
    *,
    extra_secrets: Sequence[str] = (),
) -> IncidentEvent | Ignored:
    """Check and normalize one PagerDuty v3 delivery; raises WebhookRejected.

    ``extra_secrets``: those of the subscriptions ``pdjira webhooks check --fix`` created
    (PagerDuty makes them; ingest keeps them in KV), accepted beside ``webhook_secrets``."""
    try:
        account = config.account(account_id)
    except KeyError:
        # Which accounts exist is not told: the caller has not shown it is PagerDuty yet.
        raise WebhookRejected(
            404,
            "unknown_account",
            f"no PagerDuty account {_shown(account_id)} is configured here. Point the webhook "
            "subscription at /webhooks/pagerduty/<account id>, with the id of an account in "
            "pagerduty_accounts.",
        ) from None
    if not account.webhook_secrets and not extra_secrets:
        raise WebhookRejected(
            401,
            "invalid_signature",
            f"PagerDuty account {account.id!r} has no webhook_secrets configured, so every "
            "webhook is refused; add the subscription's signing secret to "
            f"pagerduty_accounts[id={account.id}].webhook_secrets, or let "
            "`pdjira webhooks check --fix` create the subscription.",
        )
    if not signature:
        raise WebhookRejected(
            401,
            "invalid_signature",
            f"header {PAGERDUTY_SIGNATURE_HEADER} is missing; only signed PagerDuty v3 webhooks "
            "are accepted.",
        )
    secrets = [*(secret.reveal() for secret in account.webhook_secrets), *extra_secrets]
    if not verify_pagerduty_signature(raw_body, signature, secrets):
        raise WebhookRejected(
            401,
            "invalid_signature",
            f"{PAGERDUTY_SIGNATURE_HEADER} matches none of the {len(secrets)} webhook_secrets "
            f"of account {account.id!r}; if the subscription was re-created, add its new secret "
            "(keep the old one until the rotation is done), or run `pdjira webhooks check "
            "--fix`.",
        )
    payload = _decode_json(raw_body, "PagerDuty")
    return normalized(lambda: normalize_pagerduty(account.id, payload))


def accept_jira(
    config: Config,
    instance_id: str,
    raw_body: bytes,
    signature: str | None,
    *,
    token: str | None = None,
) -> IssueEvent | Ignored:
    """Check and normalize one Jira Server/DC delivery; raises WebhookRejected.

    ``token`` is the URL's ``?token=``: Jira Server webhooks cannot sign (only DC 10+ with a
    secret can), so an instance without ``webhook_secret`` has a ``webhook_token`` in the URL.
    An instance with both needs both."""
    try:
        instance = config.instance(instance_id)
    except KeyError:
        # Which instances exist is not told: the caller has not shown it is Jira yet.
        raise WebhookRejected(
            404,
            "unknown_instance",
            f"no Jira instance {_shown(instance_id)} is configured here. Point the Jira webhook "
            "at /webhooks/jira/<instance id>, with the id of an instance in jira_instances.",
        ) from None
    if instance.webhook_token is not None:
        expected = instance.webhook_token.reveal().encode()
        if not token:
            raise WebhookRejected(
                401,
                "invalid_token",
                f"the URL has no ?{JIRA_TOKEN_PARAMETER}= but Jira instance {instance.id!r} has "
                "a webhook_token; add ?token=<webhook_token> to the webhook URL in Jira.",
            )
        if not hmac.compare_digest(token.encode("utf-8", "surrogateescape"), expected):
            raise WebhookRejected(
                401,
                "invalid_token",
                f"the URL's ?{JIRA_TOKEN_PARAMETER}= is not the webhook_token of Jira instance "
                f"{instance.id!r}; set the same token in the webhook URL in Jira.",
            )
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
    if instance.webhook_token is None and instance.webhook_secret is None:
        # The config refuses such an instance; never accept a webhook anyone could send.
        raise WebhookRejected(
            401,
            "invalid_signature",
            f"Jira instance {instance.id!r} has neither webhook_secret nor webhook_token, so "
            "every webhook is refused; set one of them.",
        )
    payload = _decode_json(raw_body, "Jira")
    event_id = jira_event_id(instance.id, raw_body)
    return normalized(lambda: normalize_jira(instance.id, payload, event_id=event_id))


def destination(event: IncidentEvent | IssueEvent) -> Destination:
    """Subject and dedup id of an event: its event id, stable across the vendor's redeliveries
    and the same for the poller's copy of the change (see stable_ids)."""
    if isinstance(event, IncidentEvent):
        subject = subjects.event_pd(event.account, event.incident_id)
    else:
        subject = subjects.event_jira(event.instance, event.issue_id)
    return Destination(subject=subject, msg_id=event.event_id)
