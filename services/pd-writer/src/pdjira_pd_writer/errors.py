"""Pure classification of PagerDuty answers: retry later, or a permanent error with PD's text."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import msgspec
from pdjira_common.bus import Retryable
from pdjira_common.secrets import redact

__all__ = [
    "FROM_HEADER_ERROR_CODE",
    "REQUESTER_NOT_FOUND_CODE",
    "PagerDutyError",
    "classify_response",
    "classify_transport_error",
    "parse_error",
    "pause_seconds",
    "rate_limit_reset_seconds",
]

_MAX_TEXT = 1000
FROM_HEADER_ERROR_CODE = 1028  # 'Malformed "From" header' (seen in go-pagerduty#336)
REQUESTER_NOT_FOUND_CODE = 1008  # "Requester User Not Found": no user has the From e-mail


class PagerDutyError(Exception):
    """PagerDuty refused the request and repeating it will not help."""

    def __init__(self, reason: str, *, status_code: int | None, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.code = code  # PagerDuty's own error code (e.g. 1001 "Incident Already Resolved")


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


def _hint(status: int, code: int | None, text: str, account: str) -> str:
    if _about_from_header(code, text):
        return (
            f"set pagerduty_accounts[].from_email of account '{account}' to the login email "
            "of a valid PagerDuty user"
        )
    if status == httpx.codes.UNAUTHORIZED:
        return (
            f"check the API token of PagerDuty account '{account}' in the config "
            "(pagerduty_accounts[].token, a REST API key)"
        )
    if status in (httpx.codes.PAYMENT_REQUIRED, httpx.codes.FORBIDDEN):
        return (
            f"the API token of account '{account}' may not do this: use a token with write "
            "access (a full-access or user token), or an account with the ability"
        )
    if status == httpx.codes.NOT_FOUND:
        return (
            f"the incident does not exist in PagerDuty account '{account}' or its token "
            "cannot see it"
        )
    return "fix the rule or the PagerDuty configuration it refers to, then replay the command"


def classify_response(
    status: int, headers: Mapping[str, str], body: bytes, *, what: str, account: str
) -> Retryable | PagerDutyError | None:
    """None for success; Retryable for 408/429/5xx; PagerDutyError for every other refusal."""
    if status < httpx.codes.BAD_REQUEST:
        return None
    text, code = parse_error(body)
    if status == httpx.codes.TOO_MANY_REQUESTS:
        return Retryable(
            f"PagerDuty account '{account}' is rate limited ({what}): {text}",
            delay=rate_limit_reset_seconds(headers),
        )
    if status == httpx.codes.REQUEST_TIMEOUT or status >= 500:
        return Retryable(f"PagerDuty answered {status} to {what} (account '{account}'): {text}")
    return PagerDutyError(
        f"PagerDuty account '{account}' refused {what} ({status}): {text}; "
        f"{_hint(status, code, text, account)}",
        status_code=status,
        code=code,
    )


def classify_transport_error(exc: httpx.HTTPError, *, what: str, account: str) -> Retryable:
    """Timeouts and connection failures: PagerDuty may be unreachable, so try again later."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return Retryable(redact(f"{what} on PagerDuty account '{account}' {kind}: {detail}"))
