"""Webhook signature checks (pure): PagerDuty v3 ``X-PagerDuty-Signature`` and Jira DC
``X-Hub-Signature``. Both are hex HMAC-SHA256 of the raw body keyed with the secret's UTF-8 bytes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterator, Sequence

__all__ = ["verify_hub_signature", "verify_pagerduty_signature"]


@functools.lru_cache(maxsize=64)
def _keyed(secret: str) -> hmac.HMAC:
    """An HMAC-SHA256 keyed with ``secret``, nothing hashed yet: copied per body, it spares
    OpenSSL setting the key up again (most of the cost of a webhook-sized HMAC)."""
    # PagerDuty's secret looks like base64 but is used as-is (verified against real captures).
    return hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)


def _digest(secret: str, body: bytes) -> bytes:
    keyed = _keyed(secret).copy()
    keyed.update(body)
    return keyed.digest()


def _hex_entries(header: str, scheme: str) -> Iterator[bytes]:
    """The decoded digests of the ``<scheme>=<hex>`` entries; other and undecodable entries skip."""
    for entry in header.split(","):
        name, sep, value = entry.strip().partition("=")
        if not sep or name.strip().lower() != scheme:
            continue
        try:
            yield bytes.fromhex(value.strip())
        except ValueError:
            continue


def verify_pagerduty_signature(raw_body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """True if any ``v1=`` entry of the header matches the body signed with any of ``secrets``.

    Several entries/secrets exist for zero-downtime rotation. Empty secrets never match: an empty
    HMAC key would let anyone sign.
    """
    if not header:
        return False
    expected = [_digest(secret, raw_body) for secret in secrets if secret]
    if not expected:
        return False
    matched = False
    for provided in _hex_entries(header, "v1"):
        for digest in expected:
            # No early exit: every comparison runs, so timing says nothing about which matched.
            matched |= hmac.compare_digest(provided, digest)
    return matched


def verify_hub_signature(raw_body: bytes, header: str | None, secret: str) -> bool:
    """True if ``X-Hub-Signature`` (``sha256=<hex>``) is the body signed with ``secret``."""
    if not header or not secret:
        return False
    digest = _digest(secret, raw_body)
    return any(hmac.compare_digest(provided, digest) for provided in _hex_entries(header, "sha256"))
