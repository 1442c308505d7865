"""Classification of Jira answers, table-driven: retry later or fail with Jira's own words."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from pdjira_common.bus import Retryable
from pdjira_jira_writer.errors import ANSWERS, JiraError, jira_error_text, retry_after_seconds
from pdjira_jira_writer.spec import JIRA
from pdjira_writer.errors import transport_failure

FIELD_ERROR = (
    b'{"errorMessages":[],"errors":{"resolution":"Field \'resolution\' cannot be set. '
    b'It is not on the appropriate screen, or unknown."}}'
)


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind", "delay"),
    [
        (200, {}, b"{}", None, None),
        (201, {}, b'{"id":"1","key":"OPS-1"}', None, None),
        (204, {}, b"", None, None),
        (429, {"retry-after": "7"}, b"", Retryable, 7.0),
        (429, {"retry-after": "0"}, b"", Retryable, None),  # "0": tokens remain, no advice
        (429, {}, b"", Retryable, None),
        (503, {"retry-after": "2.5"}, b"<html>down</html>", Retryable, 2.5),
        (500, {}, b'{"errorMessages":["boom"]}', Retryable, None),
        (502, {}, b"", Retryable, None),
        (408, {}, b"", Retryable, None),
        (400, {}, FIELD_ERROR, JiraError, None),
        (401, {}, b"", JiraError, None),
        (403, {}, b'{"errorMessages":["no permission"],"errors":{}}', JiraError, None),
        (404, {}, b'{"errorMessages":["Issue Does Not Exist"],"errors":{}}', JiraError, None),
        (409, {}, b"", JiraError, None),
    ],
)
def test_classify_response(
    status: int, headers: dict[str, str], body: bytes, kind: type | None, delay: float | None
) -> None:
    result = ANSWERS.classify(
        status, httpx.Headers(headers), body, what="create issue", target="dc1"
    )
    if kind is None:
        assert result is None
        return
    assert isinstance(result, kind)
    if isinstance(result, Retryable):
        assert result.delay == delay
    else:
        assert isinstance(result, JiraError)
        assert result.status_code == status


@pytest.mark.parametrize(
    ("status", "needle"),
    [
        (400, "resolution: Field 'resolution' cannot be set"),
        (401, "check the credentials of Jira instance 'dc1'"),
        (403, "give the Jira user of instance 'dc1' the permission"),
        (404, "does not exist on Jira instance 'dc1'"),
    ],
)
def test_permanent_errors_say_what_was_wrong_and_what_to_do(status: int, needle: str) -> None:
    result = ANSWERS.classify(status, {}, FIELD_ERROR, what="transition OPS-1", target="dc1")
    assert isinstance(result, JiraError)
    assert needle in result.reason
    assert f"refused transition OPS-1 ({status})" in result.reason


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b'{"errorMessages":["a","b"],"errors":{"summary":"too long"}}', "a; b; summary: too long"),
        (b'{"errorMessages":[],"errors":{}}', "(no error text)"),
        (b'{"message":"legacy 5.1 error"}', "legacy 5.1 error"),
        (b'{"errorMessage":"Service unavailable"}', "Service unavailable"),
        (b"<html>proxy error</html>", "<html>proxy error</html>"),
        (b"", "(no error text)"),
        (b"x" * 5000, "x" * 1000),
    ],
)
def test_jira_error_text(body: bytes, text: str) -> None:
    assert jira_error_text(body) == text


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    headers = {"retry-after": "Thu, 01 Jan 2026 12:00:30 GMT"}
    assert retry_after_seconds(headers, now=now) == 30.0
    assert retry_after_seconds({"retry-after": "Thu, 01 Jan 2026 11:00:00 GMT"}, now=now) is None
    assert retry_after_seconds({"retry-after": "soon"}, now=now) is None


@pytest.mark.parametrize(
    ("exc", "needle"),
    [
        (httpx.ReadTimeout("read timed out"), "timed out"),
        (httpx.ConnectTimeout(""), "timed out: ConnectTimeout"),
        (httpx.ConnectError("connection refused"), "failed: ConnectError: connection refused"),
        (httpx.RemoteProtocolError("peer closed"), "failed"),
    ],
)
def test_transport_errors_are_retryable(exc: httpx.HTTPError, needle: str) -> None:
    result = transport_failure(exc, what="create issue", target=JIRA.label("dc1"))
    assert isinstance(result, Retryable)
    assert needle in result.reason
    assert result.delay is None


def test_known_secrets_never_reach_the_reason() -> None:
    from pdjira_common.secrets import Secret

    Secret("hunter2-super-secret")
    body = b'{"errorMessages":["bad password hunter2-super-secret"]}'
    result = ANSWERS.classify(401, {}, body, what="search", target="dc1")
    assert isinstance(result, JiraError)
    assert "hunter2-super-secret" not in result.reason
