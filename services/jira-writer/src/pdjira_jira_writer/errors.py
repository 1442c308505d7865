"""What Jira's answers mean: its error text, its rate-limit headers, what to do about a refusal.
(The kernel classifies: retry later, or a permanent error with Jira's own text.)

Jira localises its messages, so decisions are made on the HTTP status only; the text is carried
to the outcome for people to read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import msgspec
from pdjira_common.secrets import redact
from pdjira_writer.errors import Refused
from pdjira_writer.vendor_http import VendorAnswers

from pdjira_jira_writer.spec import JIRA

__all__ = [
    "ANSWERS",
    "JiraAnswers",
    "JiraError",
    "jira_error_text",
    "pause_seconds",
    "retry_after_seconds",
    "server_rate",
]

_MAX_TEXT = 1000


class JiraError(Refused):
    """Jira refused the request and repeating it will not help; ``reason`` says what to do."""


class _ErrorCollection(msgspec.Struct):
    # Jira's ErrorCollection, plus the legacy single-message bodies some versions send.
    errorMessages: list[str] = []
    errors: dict[str, str] = {}
    message: str | None = None
    errorMessage: str | None = None


def jira_error_text(body: bytes) -> str:
    """Jira's own words from an error body: ``errorMessages`` then ``field: message`` pairs."""
    try:
        parsed = msgspec.json.decode(body, type=_ErrorCollection)
    except (msgspec.DecodeError, msgspec.ValidationError):
        text = body.decode("utf-8", errors="replace").strip()
        return redact(text[:_MAX_TEXT]) if text else "(no error text)"
    parts = [*parsed.errorMessages]
    parts.extend(f"{field}: {message}" for field, message in parsed.errors.items())
    for legacy in (parsed.message, parsed.errorMessage):
        if legacy:
            parts.append(legacy)
    return redact("; ".join(parts)[:_MAX_TEXT]) if parts else "(no error text)"


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait (``Retry-After``: seconds or an HTTP date), if any."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    # "0" means tokens remain (Jira DC): no advice, so our own backoff applies.
    return seconds if seconds > 0 else None


def _one_token_seconds(headers: Mapping[str, str]) -> float | None:
    """Time for the bucket to gain one token: interval / fill rate (Jira DC's headers)."""
    try:
        interval = float(headers.get("x-ratelimit-interval-seconds", ""))
        fill_rate = float(headers.get("x-ratelimit-fillrate", ""))
    except ValueError:
        return None
    return interval / fill_rate if interval > 0 and fill_rate > 0 else None


def server_rate(headers: Mapping[str, str]) -> float | None:
    """Jira DC's own limit in requests per second (fill rate / interval), when it sends it."""
    one = _one_token_seconds(headers)
    return 1.0 / one if one else None


def pause_seconds(status: int, headers: Mapping[str, str]) -> float | None:
    """How long to leave Jira alone after this answer: on a 429, ``Retry-After``; once the
    budget is spent (``X-RateLimit-Remaining: 0`` on a success, where Retry-After is 0), the
    time the bucket takes to gain one token."""
    if status == httpx.codes.TOO_MANY_REQUESTS:
        return retry_after_seconds(headers)
    if headers.get("x-ratelimit-remaining", "").strip() == "0":
        return retry_after_seconds(headers) or _one_token_seconds(headers)
    return None


class JiraAnswers(VendorAnswers):
    vendor = JIRA
    refusal = JiraError

    def words(self, body: bytes) -> tuple[str, int | None]:
        return jira_error_text(body), None  # Jira has no error codes, only texts

    def retry_after(self, status: int, headers: Mapping[str, str]) -> float | None:
        return retry_after_seconds(headers)

    def pause_seconds(self, status: int, headers: Mapping[str, str]) -> float | None:
        return pause_seconds(status, headers)

    def server_rate(self, headers: Mapping[str, str]) -> float | None:
        return server_rate(headers)

    def hint(self, status: int, code: int | None, text: str, target: str) -> str | None:
        if status == httpx.codes.UNAUTHORIZED:
            return (
                f"check the credentials of Jira instance '{target}' in the config "
                "(jira_instances[].auth: username and password, or a personal access token)"
            )
        if status == httpx.codes.FORBIDDEN:
            return (
                f"give the Jira user of instance '{target}' the permission this needs "
                "(e.g. Browse Projects, Create Issues, Transition Issues in the project)"
            )
        if status == httpx.codes.NOT_FOUND:
            return (
                f"the issue or project does not exist on Jira instance '{target}', or its "
                "Jira user cannot see it"
            )
        return None


ANSWERS = JiraAnswers()
