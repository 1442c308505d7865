"""Jira's error body `{"errorMessages": [...], "errors": {field: message}}`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.requests import Request
from starlette.responses import Response

from pdjira_simulators.common.jsonresp import JsonResponse

__all__ = ["JiraError", "error_body", "field_errors", "jira_error_handler", "not_found"]


class JiraError(Exception):
    """A REST error as Jira answers it; messages are localised in real Jira, keys are not."""

    def __init__(
        self,
        status: int,
        messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__("; ".join([*messages, *(errors or {}).values()]))
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})


def error_body(
    messages: Sequence[str] = (), errors: Mapping[str, str] | None = None
) -> dict[str, object]:
    return {"errorMessages": list(messages), "errors": dict(errors or {})}


def field_errors(errors: Mapping[str, str]) -> JiraError:
    return JiraError(400, (), errors)


def not_found(message: str = "Issue Does Not Exist") -> JiraError:
    return JiraError(404, [message])


async def jira_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JiraError)
    return JsonResponse(error_body(exc.messages, exc.errors), status_code=exc.status)
