"""Pure classification of PagerDuty answers: retry later, or a permanent error with PD's text."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import msgspec
from pdjira_common.secrets import redact
from pdjira_writer.errors import Refused
from pdjira_writer.vendor_http import VendorAnswers

from pdjira_pd_writer.spec import PAGERDUTY

__all__ = [
    "ANSWERS",
    "FROM_HEADER_ERROR_CODE",
    "REQUESTER_NOT_FOUND_CODE",
    "PagerDutyAnswers",
    "PagerDutyError",
    "parse_error",
    "pause_seconds",
    "rate_limit_reset_seconds",
]

_MAX_TEXT = 1000
FROM_HEADER_ERROR_CODE = 1028  # 'Malformed "From" header' (seen in go-pagerduty#336)
REQUESTER_NOT_FOUND_CODE = 1008  # "Requester User Not Found": no user has the From e-mail


class PagerDutyError(Refused):
    """PagerDuty refused the request and repeating it will not help; ``code`` is PagerDuty's
    own error code (e.g. 1001 "Incident Already Resolved")."""


class _Error(msgspec.Struct):
    message: str | None = None
    code: int | None = None
    # A list of strings on v2 endpoints; an object keyed by field on newer ones.
    errors: list[str] | dict[str, list[str] | str] | None = None


class _ErrorBody(msgspec.Struct):
    error: _Error | None = None


def parse_error(body: bytes) -> tuple[str, int | None]:
    """PagerDuty's words (``message (code N): details``) and its error code, from an error body."""
    try:
        error = msgspec.json.decode(body, type=_ErrorBody).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        error = None
    if error is None:
        text = body.decode("utf-8", errors="replace").strip()
        return (redact(text[:_MAX_TEXT]) if text else "(no error text)"), None
    text = error.message or "(no message)"
    if error.code is not None:
        text += f" (code {error.code})"
    details: list[str] = []
    if isinstance(error.errors, list):
        details = [str(e) for e in error.errors]
    elif isinstance(error.errors, dict):
        details = [f"{k}: {v}" for k, v in error.errors.items()]
    if details:
        text += ": " + "; ".join(details)
    return redact(text[:_MAX_TEXT]), error.code


def rate_limit_reset_seconds(headers: Mapping[str, str]) -> float | None:
    """``ratelimit-reset``: seconds until PagerDuty's limit resets (it sends no Retry-After)."""
    value = headers.get("ratelimit-reset")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def pause_seconds(status: int, headers: Mapping[str, str]) -> float | None:
    """How long to leave PagerDuty alone after this answer: on a 429, or once the window's
    budget is spent (``ratelimit-remaining: 0``), until ``ratelimit-reset``."""
    spent = headers.get("ratelimit-remaining", "").strip() == "0"
    if status == httpx.codes.TOO_MANY_REQUESTS or spent:
        return rate_limit_reset_seconds(headers)
    return None


def _about_from_header(code: int | None, text: str) -> bool:
    # PagerDuty's own texts: 'Malformed "From" header' and 'You must specify a user's email
    # address in the "From" header to perform this action'.
    return code in (FROM_HEADER_ERROR_CODE, REQUESTER_NOT_FOUND_CODE) or '"From" header' in text


class PagerDutyAnswers(VendorAnswers):
    vendor = PAGERDUTY
    refusal = PagerDutyError

    def hint(self, status: int, code: int | None, text: str, target: str) -> str | None:
        if _about_from_header(code, text):
            return (
                f"set pagerduty_accounts[].from_email of account '{target}' to the login email "
                "of a valid PagerDuty user"
            )
        if status == httpx.codes.UNAUTHORIZED:
            return (
                f"check the API token of PagerDuty account '{target}' in the config "
                "(pagerduty_accounts[].token, a REST API key)"
            )
        if status in (httpx.codes.PAYMENT_REQUIRED, httpx.codes.FORBIDDEN):
            return (
                f"the API token of account '{target}' may not do this: use a token with write "
                "access (a full-access or user token), or an account with the ability"
            )
        if status == httpx.codes.NOT_FOUND:
            return (
                f"the incident does not exist in PagerDuty account '{target}' or its token "
                "cannot see it"
            )
        return None

    def words(self, body: bytes) -> tuple[str, int | None]:
        return parse_error(body)

    def retry_after(self, status: int, headers: Mapping[str, str]) -> float | None:
        # PagerDuty sends no Retry-After; after a 429, its window resets at ratelimit-reset.
        if status == httpx.codes.TOO_MANY_REQUESTS:
            return rate_limit_reset_seconds(headers)
        return None

    def pause_seconds(self, status: int, headers: Mapping[str, str]) -> float | None:
        return pause_seconds(status, headers)


ANSWERS = PagerDutyAnswers()
