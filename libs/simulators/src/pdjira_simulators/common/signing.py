"""Webhook signatures exactly as the vendors compute them."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

__all__ = ["hmac_sha256_hex", "jira_signature", "pagerduty_signature"]


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 keyed with the secret's UTF-8 bytes as-is (not base64-decoded)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def pagerduty_signature(secrets: Sequence[str], body: bytes) -> str:
    """`X-PagerDuty-Signature`: one `v1=` entry per secret, comma-joined (secret rotation)."""
    return ",".join(f"v1={hmac_sha256_hex(s, body)}" for s in secrets)


def jira_signature(secret: str, body: bytes) -> str:
    """`X-Hub-Signature` as Jira DC sends it."""
    return f"sha256={hmac_sha256_hex(secret, body)}"
