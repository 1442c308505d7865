"""Time values as the vendors send them, in one form (ISO 8601, UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_from_ms"]


def iso_from_ms(timestamp_ms: int) -> str:
    """Jira's webhook ``timestamp`` (ms since the epoch) as an ISO time in UTC."""
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat()
