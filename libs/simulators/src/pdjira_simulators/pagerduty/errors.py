"""PagerDuty's error envelope `{"error": {"message", "code", "errors"?}}`."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response

from pdjira_simulators.common.jsonresp import JsonResponse

__all__ = [
    "FROM_REQUIRED_MESSAGE",
    "PdError",
    "error_body",
    "invalid_input",
    "not_found",
    "pd_error_handler",
]

FROM_REQUIRED_MESSAGE = (
    'You must specify a user\'s email address in the "From" header to perform this action'
)


class PdError(Exception):
    """A REST error as PagerDuty answers it."""

    def __init__(self, status: int, message: str, code: int, errors: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.errors = list(errors)


def error_body(message: str, code: int, errors: Sequence[str] = ()) -> dict[str, object]:
    inner: dict[str, object] = {"message": message, "code": code}
    if errors:
        inner["errors"] = list(errors)
    return {"error": inner}


def invalid_input(*errors: str) -> PdError:
    """400 / 2001, PagerDuty's catch-all validation error."""
    return PdError(400, "Invalid Input Provided", 2001, errors)


def not_found() -> PdError:
    return PdError(404, "Not Found", 2100)


async def pd_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PdError)
    return JsonResponse(error_body(exc.message, exc.code, exc.errors), status_code=exc.status)
