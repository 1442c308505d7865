"""``pdjira normalize`` and ``pdjira verify``: what ingest would make of a webhook body, and
whether its signature is right, for an operator debugging a webhook by hand.

Both run ingest's own pure code (its normalizers and signature checks), so the answer is the one
ingest gives: nothing is published and no service needs to run.

- ``pdjira normalize --source pagerduty|jira FILE``: the normalized event as JSON (exit 0); a
  well-formed webhook that carries nothing to sync prints why it is ignored (exit 0); a body
  ingest refuses prints the reason (exit 2).
- ``pdjira verify --source pagerduty|jira --secret S --signature HEADER FILE``: exit 0 if the
  header is the body signed with the secret, 1 if not. ``--secret-env NAME`` reads the secret
  from the environment instead (keeps it out of the shell history and ``ps``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import msgspec
from pdjira_ingest.fields import WebhookRejected, check_shape, shape_check_needed
from pdjira_ingest.intake import (
    HUB_SIGNATURE_HEADER,
    PAGERDUTY_SIGNATURE_HEADER,
    destination,
    normalized,
)
from pdjira_ingest.normalize import Ignored, jira_event_id, normalize_jira, normalize_pagerduty
from pdjira_ingest.signatures import verify_hub_signature, verify_pagerduty_signature

__all__ = ["normalize_body", "register", "signature_matches"]

SOURCES = ("pagerduty", "jira")
# The id the event is filed under when the operator does not say (it only names the subject).
PLACEHOLDER_ID = "main"


def register(commands: Any) -> None:
    normalize = commands.add_parser(
        "normalize", help="print the event ingest makes of a webhook body (nothing is published)"
    )
    normalize.add_argument("--source", required=True, choices=SOURCES)
    normalize.add_argument(
        "--account",
        default=PLACEHOLDER_ID,
        help=f"PagerDuty account id the webhook is for (default {PLACEHOLDER_ID!r})",
    )
    normalize.add_argument(
        "--instance",
        default=PLACEHOLDER_ID,
        help=f"Jira instance id the webhook is for (default {PLACEHOLDER_ID!r})",
    )
    normalize.add_argument("file", help="the raw webhook body (JSON), '-' for stdin")
    normalize.set_defaults(handler=_normalize)

    verify = commands.add_parser(
        "verify", help="check a webhook's signature header against its body and a secret"
    )
    verify.add_argument("--source", required=True, choices=SOURCES)
    secret = verify.add_mutually_exclusive_group(required=True)
    secret.add_argument("--secret", help="the webhook secret (PagerDuty subscription, Jira DC)")
    secret.add_argument("--secret-env", metavar="NAME", help="read the secret from $NAME")
    verify.add_argument(
        "--signature",
        required=True,
        metavar="HEADER",
        help=f"the {PAGERDUTY_SIGNATURE_HEADER} (v1=...) or {HUB_SIGNATURE_HEADER} "
        "(sha256=...) header as received",
    )
    verify.add_argument("file", help="the raw webhook body, byte for byte, '-' for stdin")
    verify.set_defaults(handler=_verify)


def normalize_body(source: str, raw_body: bytes, *, target: str = PLACEHOLDER_ID) -> Any:
    """The event ingest makes of ``raw_body`` (an IncidentEvent / IssueEvent, or Ignored);
    raises WebhookRejected with ingest's own reason, as ingest answers 400."""
    try:
        payload = msgspec.json.decode(raw_body)
    except UnicodeDecodeError as exc:
        raise WebhookRejected(
            400, "invalid_encoding", f"the body is not valid UTF-8 ({exc.reason})"
        ) from None
    except RecursionError:
        raise WebhookRejected(400, "too_deep", "the body's JSON is nested too deep") from None
    except msgspec.DecodeError as exc:
        raise WebhookRejected(400, "invalid_json", f"the body is not valid JSON ({exc})") from None

    def read() -> Any:
        if shape_check_needed(raw_body):
            check_shape(payload)
        if source == "pagerduty":
            return normalize_pagerduty(target, payload)
        return normalize_jira(target, payload, event_id=jira_event_id(target, raw_body))

    return normalized(read)


def signature_matches(source: str, raw_body: bytes, secret: str, header: str) -> bool:
    """Ingest's own check of the signature header."""
    if source == "pagerduty":
        return verify_pagerduty_signature(raw_body, header, [secret])
    return verify_hub_signature(raw_body, header, secret)


def _read(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read()
    return Path(file).read_bytes()


def _body(args: argparse.Namespace) -> bytes | None:
    try:
        return _read(args.file)
    except OSError as exc:
        print(f"pdjira: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return None


def _normalize(args: argparse.Namespace) -> int:
    raw = _body(args)
    if raw is None:
        return 2
    target = args.account if args.source == "pagerduty" else args.instance
    try:
        event = normalize_body(args.source, raw, target=target)
    except WebhookRejected as exc:
        print(
            f"pdjira: ingest would refuse this {args.source} webhook with {exc.status} "
            f"({exc.code}): {exc.message}",
            file=sys.stderr,
        )
        return 2
    if isinstance(event, Ignored):
        print(
            f"ignored ({event.event_type}): {event.reason}; ingest answers 202, publishes nothing"
        )
        return 0
    where = destination(event)
    out = {
        "subject": where.subject,
        "msg_id": where.msg_id,
        "event": msgspec.to_builtins(event),
    }
    print(msgspec.json.format(msgspec.json.encode(out), indent=2).decode())
    return 0


def _verify(args: argparse.Namespace) -> int:
    if args.secret_env is not None:
        secret = os.environ.get(args.secret_env)
        if not secret:
            print(f"pdjira: ${args.secret_env} is not set (or empty)", file=sys.stderr)
            return 2
    else:
        secret = args.secret
    raw = _body(args)
    if raw is None:
        return 2
    header = PAGERDUTY_SIGNATURE_HEADER if args.source == "pagerduty" else HUB_SIGNATURE_HEADER
    if signature_matches(args.source, raw, secret, args.signature):
        print(f"valid: {header} is this body signed with this secret")
        return 0
    scheme = "v1=<hex>" if args.source == "pagerduty" else "sha256=<hex>"
    print(
        f"invalid: {header} is not this body signed with this secret (expected {scheme}, the "
        "HMAC-SHA256 of the exact bytes received: a body re-saved or re-formatted no longer "
        "matches; a rotated secret does not either)",
        file=sys.stderr,
    )
    return 1
