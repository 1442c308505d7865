"""The pd-writer's pure parts, table-driven: error classification and skip decisions."""

from __future__ import annotations

import httpx
import pytest
from pdjira_common.bus import Retryable
from pdjira_pd_writer.decisions import already_there, needs_write
from pdjira_pd_writer.errors import (
    ANSWERS,
    PagerDutyError,
    parse_error,
    rate_limit_reset_seconds,
)
from pdjira_pd_writer.spec import PAGERDUTY
from pdjira_writer.errors import transport_failure

RATE_LIMITED = b'{"error": {"message": "Rate Limit Exceeded", "code": 2020}}'
NOT_FOUND = b'{"error": {"message": "Not Found", "code": 2100}}'
FROM_MISSING = (
    b'{"error": {"message": "You must specify a user\'s email address in the \\"From\\" '
    b'header to perform this action", "code": 2001}}'
)


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind", "delay"),
    [
        (200, {}, b"{}", None, None),
        (429, {"ratelimit-reset": "20", "ratelimit-remaining": "0"}, RATE_LIMITED, Retryable, 20.0),
        # "exceptional scenarios": a 429 without the headers or the body
        (429, {}, b"", Retryable, None),
        (500, {}, b'{"error": {"message": "Internal", "code": 2000}}', Retryable, None),
        (503, {}, b"", Retryable, None),
        (408, {}, b"", Retryable, None),
        (400, {}, FROM_MISSING, PagerDutyError, None),
        (401, {}, b'{"error": {"message": "Unauthorized", "code": 2006}}', PagerDutyError, None),
        (402, {}, b"", PagerDutyError, None),
        (403, {}, b"", PagerDutyError, None),
        (404, {}, NOT_FOUND, PagerDutyError, None),
    ],
)
def test_classify_response(
    status: int, headers: dict[str, str], body: bytes, kind: type | None, delay: float | None
) -> None:
    result = ANSWERS.classify(
        status, httpx.Headers(headers), body, what="get incident P1", target="acme"
    )
    if kind is None:
        assert result is None
        return
    assert isinstance(result, kind)
    if isinstance(result, Retryable):
        assert result.delay == delay
    else:
        assert isinstance(result, PagerDutyError)
        assert result.status_code == status


@pytest.mark.parametrize(
    ("status", "body", "needles"),
    [
        (400, FROM_MISSING, ['"From" header', "from_email of account 'acme'"]),
        (
            400,
            b'{"error": {"message": "Malformed \\"From\\" header", "code": 1028}}',
            ["code 1028", "login email of a valid PagerDuty user"],
        ),
        (401, b"", ["API token of PagerDuty account 'acme'"]),
        (403, b"", ["write access"]),
        (404, NOT_FOUND, ["Not Found (code 2100)", "does not exist in PagerDuty account 'acme'"]),
    ],
)
def test_permanent_errors_say_what_was_wrong_and_what_to_do(
    status: int, body: bytes, needles: list[str]
) -> None:
    result = ANSWERS.classify(status, {}, body, what="set incident P1 to resolved", target="acme")
    assert isinstance(result, PagerDutyError)
    assert f"refused set incident P1 to resolved ({status})" in result.reason
    for needle in needles:
        assert needle in result.reason


@pytest.mark.parametrize(
    ("body", "text", "code"),
    [
        (
            b'{"error": {"message": "Invalid Input Provided", "code": 2001, '
            b'"errors": ["Status is invalid", "Other"]}}',
            "Invalid Input Provided (code 2001): Status is invalid; Other",
            2001,
        ),
        (
            b'{"error": {"message": "Invalid Request", "code": 2001, '
            b'"errors": {"event.effective_since": ["must be in the past"]}}}',
            "Invalid Request (code 2001): event.effective_since: ['must be in the past']",
            2001,
        ),
        (
            b'{"error": {"message": "Incident Already Resolved", "code": 1001}}',
            "Incident Already Resolved (code 1001)",
            1001,
        ),
        (b"<html>bad gateway</html>", "<html>bad gateway</html>", None),
        (b"", "(no error text)", None),
    ],
)
def test_parse_error(body: bytes, text: str, code: int | None) -> None:
    assert parse_error(body) == (text, code)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"ratelimit-reset": "20"}, 20.0), ({"ratelimit-reset": "0"}, None), ({}, None)],
)
def test_rate_limit_reset(headers: dict[str, str], seconds: float | None) -> None:
    assert rate_limit_reset_seconds(headers) == seconds


def test_transport_errors_are_retryable() -> None:
    result = transport_failure(
        httpx.ConnectError("refused"), what="get incident P1", target=PAGERDUTY.label("acme")
    )
    assert isinstance(result, Retryable)
    assert "get incident P1 on PagerDuty account 'acme' failed" in result.reason


@pytest.mark.parametrize(
    ("current", "wanted", "write"),
    [
        ("triggered", "acknowledged", True),
        ("triggered", "resolved", True),
        ("acknowledged", "resolved", True),
        ("resolved", "triggered", True),  # a reopen
        ("acknowledged", "triggered", False),  # "triggered" only reopens, never un-acks
        ("resolved", "resolved", False),
        ("acknowledged", "acknowledged", False),
        ("triggered", "triggered", False),
    ],
)
def test_needs_write(current: str, wanted: str, write: bool) -> None:
    assert needs_write(current, wanted) is write  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "wanted", "there"),
    [
        (1001, "resolved", True),
        (1002, "acknowledged", True),
        (1001, "acknowledged", False),
        (2001, "resolved", False),
        (None, "resolved", False),
    ],
)
def test_already_there(code: int | None, wanted: str, there: bool) -> None:
    assert already_there(code, wanted) is there  # type: ignore[arg-type]
