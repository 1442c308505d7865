"""The ``Authorization: Bearer TOKEN`` check of the admin APIs."""

from __future__ import annotations

import hmac

__all__ = ["bearer_matches"]


def bearer_matches(header: str | bytes | None, token: str) -> bool:
    """True if ``header`` is ``Bearer <token>``. The scheme is matched case-insensitively (RFC
    9110: ``bearer`` and ``BEARER`` are the same scheme), the token in constant time."""
    if header is None:
        return False
    raw = header if isinstance(header, bytes) else header.encode("utf-8", "surrogateescape")
    scheme, _, given = raw.strip().partition(b" ")
    # Compared even when the scheme is wrong: the time taken says nothing about the token.
    same_token = hmac.compare_digest(given.strip(), token.encode())
    return scheme.lower() == b"bearer" and same_token
