"""Check HTTP exchanges against the vendors' OpenAPI documents (`shared/specs/`).

Used by the simulators' contract tests, and usable by any test that wants to prove a request
pdjira sends (or a response a simulator gives) is what the vendor documents:

    checker = SpecChecker.pagerduty(find_specs_dir())
    checker.check(response)          # httpx.Response; checks its request too

The vendor documents are validated loosely (PagerDuty's has schema errors of its own), and the
simulators' host is mapped onto the server URL the document declares.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

__all__ = [
    "ContractViolation",
    "SpecChecker",
    "find_specs_dir",
    "jira_tolerated",
    "pagerduty_tolerated",
]

PAGERDUTY_SPEC = Path("pagerduty/reference/REST/openapiv3.json")
JIRA_SPEC = Path("jira/jira-software-dc-10.3-openapi.json")


# Known defects of the vendor documents, tolerated so real behaviour can be kept.
# PagerDuty: fields its own examples return as null that the schema does not mark nullable;
# reference `id`/`type` marked readOnly in shared components that documented request bodies
# send anyway.
PD_NULLABLE_IN_PRACTICE = frozenset(
    {
        "resolved_at",
        "resolve_reason",
        "auto_resolve_timeout",
        "acknowledgement_timeout",
        "description",
        "priority",
        "conference_bridge",
        "last_status_change_by",
    }
)
READ_ONLY_SENT_IN_PRACTICE = frozenset({"id", "type"})


def _path(error: Any) -> list[str]:
    return [str(p) for p in getattr(error, "absolute_path", None) or []]


def _message(error: Any) -> str:
    return str(getattr(error, "message", error))


def pagerduty_tolerated(error: Any) -> bool:
    path, message = _path(error), _message(error)
    leaf = path[-1] if path else ""
    if message.startswith("None ") and leaf in PD_NULLABLE_IN_PRACTICE:
        return True
    return message.startswith("Tried to write read-only") and leaf in READ_ONLY_SENT_IN_PRACTICE


def jira_tolerated(error: Any) -> bool:
    """Atlassian's generated DC document types every `fields` value as an object, several
    list endpoints as an object, and entity property values as strings."""
    path, message = _path(error), _message(error)
    if "fields" in path and (
        message.endswith("is not of type 'object'") or message.startswith("None ")
    ):
        return True
    if not path and isinstance(getattr(error, "instance", None), list):
        return message.endswith("is not of type 'object'")
    return path in ([], ["value"]) and message.endswith("is not of type 'string'")


def _real_errors(exc: Exception, tolerated: Callable[[Any], bool]) -> list[Any] | None:
    """The schema errors that are not known document defects; None if not a schema error."""
    cause: Any = exc.__cause__ or exc
    details = getattr(cause, "schema_errors", None)
    if not details:
        return None
    return [e for e in details if not tolerated(e)]


class ContractViolation(AssertionError):
    """A request or response that the vendor's OpenAPI document does not allow."""


def find_specs_dir(start: Path | None = None) -> Path | None:
    """`$PDJIRA_SPECS_DIR`, else the first `shared/specs` beside a parent of `start`."""
    env = os.environ.get("PDJIRA_SPECS_DIR")
    if env:
        return Path(env) if Path(env).is_dir() else None
    here = (start or Path(__file__)).resolve()
    for parent in [here, *here.parents]:
        candidate = parent / "shared" / "specs"
        if candidate.is_dir():
            return candidate
    return None


@dataclass
class _Request:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    status_code: int
    data: bytes | None
    content_type: str
    headers: Headers


@cache
def _load(path: Path) -> OpenAPI:
    # spec_validator_cls=None: PagerDuty's document itself fails strict validation.
    return OpenAPI.from_file_path(str(path), config=Config(spec_validator_cls=None))


class SpecChecker:
    """Validates httpx exchanges against one vendor document."""

    def __init__(
        self,
        spec_path: Path,
        host_url: str,
        *,
        tolerated: Callable[[Any], bool] = lambda error: False,
        check_security: bool = True,
    ) -> None:
        self._spec = _load(spec_path)
        self._host_url = host_url
        self._tolerated = tolerated
        self._check_security = check_security

    @classmethod
    def pagerduty(cls, specs_dir: Path) -> SpecChecker:
        return cls(
            specs_dir / PAGERDUTY_SPEC, "https://api.pagerduty.com", tolerated=pagerduty_tolerated
        )

    @classmethod
    def jira(cls, specs_dir: Path) -> SpecChecker:
        # The document's server is `http://{baseurl}/rest`; paths start at /api/2.
        return cls(specs_dir / JIRA_SPEC, "http://localhost", tolerated=jira_tolerated)

    def _request(self, request: httpx.Request) -> _Request:
        content = request.content if request.content else None
        return _Request(
            host_url=self._host_url,
            path=request.url.path,
            method=request.method.lower(),
            body=content,
            content_type=request.headers.get("content-type", "application/json").lower(),
            parameters=RequestParameters(
                query=ImmutableMultiDict(list(request.url.params.multi_items())),
                header=Headers(list(request.headers.items())),
                cookie=ImmutableMultiDict(),
            ),
        )

    def check_request(self, request: httpx.Request) -> None:
        try:
            self._spec.validate_request(self._request(request))
        except Exception as exc:  # openapi-core raises a family of errors; report them all
            if not self._check_security and type(exc).__name__ == "SecurityValidationError":
                return
            if _real_errors(exc, self._tolerated) == []:
                return
            raise ContractViolation(self._describe("request", request, exc)) from exc

    def check_response(self, response: httpx.Response) -> None:
        wrapped = _Response(
            status_code=response.status_code,
            data=response.content or None,
            content_type=response.headers.get("content-type", "application/json").lower(),
            headers=Headers(list(response.headers.items())),
        )
        try:
            self._spec.validate_response(self._request(response.request), wrapped)
        except Exception as exc:
            if _real_errors(exc, self._tolerated) == []:
                return
            raise ContractViolation(self._describe("response", response.request, exc)) from exc

    def check(self, response: httpx.Response) -> None:
        """Both directions of one exchange."""
        self.check_request(response.request)
        self.check_response(response)

    def _describe(self, what: str, request: httpx.Request, exc: Exception) -> str:
        cause: Any = exc.__cause__ or exc
        details = _real_errors(exc, self._tolerated)
        text = (
            "; ".join(f"{'/'.join(_path(e)) or '<root>'}: {_message(e)}" for e in details)
            if details
            else str(cause)
        )
        return f"{what} of {request.method} {request.url.path} violates the spec: {text}"
