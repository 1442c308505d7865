"""Check HTTP exchanges against the vendors' OpenAPI documents (the repository's `specs/`).

Used by the simulators' contract tests, and usable by any test that wants to prove a request
pdjira sends (or a response a simulator gives) is what the vendor documents:

    checker = SpecChecker.pagerduty(find_specs_dir())
    checker.check(response)          # httpx.Response; checks its request too

The vendor documents are validated loosely (PagerDuty's has schema errors of its own), and the
simulators' host is mapped onto the server URL the document declares. The simulators' contract
mode (`common/contract_mode.py`, `--check-contract`) runs the same checks on live traffic.
"""

from __future__ import annotations

import json
import os
import re
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
    "GENERIC_STATUSES",
    "ContractViolation",
    "SpecChecker",
    "find_specs_dir",
    "jira_rules",
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
# Answers any endpoint can give (auth, rate limit, overload) that the documents list only on
# some operations; when an operation does not list one, its body cannot be checked either.
GENERIC_STATUSES = frozenset({401, 429, 503})
# PagerDuty's `PUT /incidents/{id}` (and a few others) omit 400, which PagerDuty answers for a
# missing `From` or invalid input like everywhere else (research/pagerduty-api.md).
PD_GENERIC_STATUSES = GENERIC_STATUSES | {400}
# Jira answers 403 on any endpoint once a user must solve a CAPTCHA.
JIRA_GENERIC_STATUSES = GENERIC_STATUSES | {403}
# Statuses one operation answers that its entry omits: (method, path pattern, status).
# Jira answers 201 for a new remote link and 200 for an update (pycontribs expects both).
# A component with a name its project already has (or none) is refused with a 400.
JIRA_UNDOCUMENTED_STATUSES = (
    ("POST", re.compile(r"/issue/[^/]+/remotelink$"), 201),
    ("POST", re.compile(r"/component$"), 400),
)


def _path(error: Any) -> list[str]:
    return [str(p) for p in getattr(error, "absolute_path", None) or []]


def _message(error: Any) -> str:
    return str(getattr(error, "message", error))


def _some_branch_tolerated(error: Any, tolerated: Callable[[Any], bool]) -> bool:
    """A failed oneOf/anyOf is fine if one branch failed only on tolerated defects."""
    branches: dict[object, list[Any]] = {}
    for sub in getattr(error, "context", None) or []:
        key = sub.relative_schema_path[0] if sub.relative_schema_path else None
        branches.setdefault(key, []).append(sub)
    return any(all(tolerated(sub) for sub in subs) for subs in branches.values())


def pagerduty_tolerated(error: Any) -> bool:
    """Besides the nullable and read-only defects: `IncidentBody.details` is a string in
    PagerDuty's own example and API though typed object; the `Channel` oneOf has no discriminator
    (every channel matches several branches), and `AcknowledgeLogEntry` spells its type
    `acknowledgement_log_entry` while `LogEntry` (and PagerDuty) say `acknowledge_log_entry`."""
    path, message = _path(error), _message(error)
    leaf = path[-1] if path else ""
    if message.endswith("is not valid under any of the given schemas"):
        return _some_branch_tolerated(error, pagerduty_tolerated)
    if leaf == "channel" and "is valid under each of" in message:
        return True
    if message == "'acknowledge_log_entry' is not one of ['acknowledgement_log_entry']":
        return True
    if message.startswith("None ") and leaf in PD_NULLABLE_IN_PRACTICE:
        return True
    if path[-3:] == ["incident", "body", "details"] and message.endswith("is not of type 'object'"):
        return True  # IncidentBody.details is typed object; PagerDuty (and its example) send text
    return message.startswith("Tried to write read-only") and leaf in READ_ONLY_SENT_IN_PRACTICE


_JIRA_DATE = re.compile(r"\d{4}-\d\d-\d\d")  # a version's release/start date
_JIRA_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}")  # Jira's own times


def jira_tolerated(error: Any) -> bool:
    """Atlassian's generated DC document types every `fields` value as an object, several
    list endpoints as an object, entity property values as strings, and its times (changelog
    `created`) as RFC 3339, which Jira writes with a `+0000` offset; changelog items name an
    empty side as null (a resolution cleared), which it marks not nullable."""
    path, message = _path(error), _message(error)
    if "changelog" in path and path[-1:] in (["from"], ["fromString"], ["to"], ["toString"]):
        return message.startswith("None ")
    if message.endswith("is not a 'date-time'") and _JIRA_TIME.fullmatch(
        str(getattr(error, "instance", ""))
    ):
        return True
    if (  # VersionBean dates: Server reads and writes them as `yyyy-MM-dd`
        message.endswith("is not a 'date-time'")
        and path[-1:] in (["releaseDate"], ["startDate"])
        and _JIRA_DATE.fullmatch(str(getattr(error, "instance", "")))
    ):
        return True
    if len(path) == 3 and path[0] == "properties" and path[2] == "value":
        return message.endswith("is not of type 'string'")  # create's `properties[].value`
    if "fields" in path and (
        message.endswith("is not of type 'object'") or message.startswith("None ")
    ):
        return True
    if not path and isinstance(getattr(error, "instance", None), list):
        return message.endswith("is not of type 'object'")
    return path in ([], ["value"]) and message.endswith("is not of type 'string'")


_JIRA_API = r"/rest/api/(?:2|latest)"
_TRANSITIONS = re.compile(_JIRA_API + r"/issue/[^/]+/transitions$")
_COMMENTS = re.compile(_JIRA_API + r"/issue/[^/]+/comment(?:/[^/]+)?$")
_CREATE = re.compile(_JIRA_API + r"/issue$")


def _json_body(request: httpx.Request) -> Any:
    try:
        return json.loads(request.content) if request.content else None
    except ValueError:
        return None


def jira_rules(request: httpx.Request) -> list[str]:
    """What Jira requires of a body although the generated document marks nothing required
    (its `IssueUpdateBean` serves create, edit and transition alike). Each rule is one Jira
    enforces with a 400 (research/jira-server-api.md, sections 4 and 7)."""
    if request.method not in ("POST", "PUT"):
        return []
    path, body = request.url.path, _json_body(request)
    if request.method == "POST" and _TRANSITIONS.search(path):
        transition = body.get("transition") if isinstance(body, dict) else None
        raw_id = transition.get("id") if isinstance(transition, dict) else None
        if raw_id is None:
            return ["transition: a transition with an 'id' is required"]
        if isinstance(raw_id, bool) or not str(raw_id).strip().isdigit():
            return [f"transition/id: {raw_id!r} is not an integer identifier"]
    elif request.method == "POST" and _CREATE.search(path):
        fields = body.get("fields") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return ["fields: an object of fields is required"]
        missing = [f for f in ("project", "issuetype", "summary") if f not in fields]
        if missing:
            return [f"fields: {', '.join(missing)} required on create"]
    elif _COMMENTS.search(path) and (
        not isinstance(body, dict) or not isinstance(body.get("body"), str)
    ):
        return ["body: the comment text is required"]
    return []


_UNKNOWN_OPERATION = frozenset({"PathNotFound", "OperationNotFound", "ServerNotFound"})


def _real_errors(exc: Exception, tolerated: Callable[[Any], bool]) -> list[Any] | None:
    """The schema errors that are not known document defects; None if not a schema error."""
    cause: Any = exc.__cause__ or exc
    details = getattr(cause, "schema_errors", None)
    if not details:
        return None
    return [e for e in details if not tolerated(e)]


class ContractViolation(AssertionError):
    """A request or response that the vendor's OpenAPI document does not allow;
    `unknown_operation` when the document has no such path or method at all."""

    def __init__(self, message: str, *, unknown_operation: bool = False) -> None:
        super().__init__(message)
        self.unknown_operation = unknown_operation


def find_specs_dir(start: Path | None = None) -> Path | None:
    """`$PDJIRA_SPECS_DIR`, else the first `specs/` folder holding both vendor documents in a
    parent of `start`, of this package (the checkout it is installed from) or of the working
    directory. The repository carries them (see `specs/SOURCE.md`)."""
    env = os.environ.get("PDJIRA_SPECS_DIR")
    if env:
        return Path(env) if Path(env).is_dir() else None
    roots = [start] if start is not None else []
    roots += [Path(__file__), Path.cwd()]
    for root in roots:
        here = root.resolve()
        for parent in [here, *here.parents]:
            candidate = parent / "specs"
            if (candidate / PAGERDUTY_SPEC).is_file() and (candidate / JIRA_SPEC).is_file():
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
    # Both documents are JSON: the json module reads them in milliseconds where the YAML reader
    # behind from_file_path takes about a second (at every simulator start in contract mode).
    # spec_validator_cls=None: PagerDuty's document itself fails strict validation.
    document = json.loads(path.read_bytes())
    return OpenAPI.from_dict(
        document, base_uri=path.resolve().as_uri(), config=Config(spec_validator_cls=None)
    )


class SpecChecker:
    """Validates httpx exchanges against one vendor document."""

    def __init__(
        self,
        spec_path: Path,
        host_url: str,
        *,
        tolerated: Callable[[Any], bool] = lambda error: False,
        check_security: bool = True,
        bearer_ok: bool = False,
        path_aliases: tuple[tuple[str, str], ...] = (),
        generic_statuses: frozenset[int] = GENERIC_STATUSES,
        rules: Callable[[httpx.Request], list[str]] = lambda request: [],
        undocumented_statuses: tuple[tuple[str, re.Pattern[str], int], ...] = (),
    ) -> None:
        self._spec = _load(spec_path)
        self._host_url = host_url
        self._tolerated = tolerated
        self._check_security = check_security
        # Jira DC accepts `Bearer <PAT>` although the generated document only declares basic.
        self._bearer_ok = bearer_ok
        # Prefixes the vendor serves under another name (Jira: /rest/api/latest = /api/2).
        self._path_aliases = path_aliases
        self._generic_statuses = generic_statuses
        # Requirements the vendor enforces that its document does not state.
        self._rules = rules
        self._undocumented = undocumented_statuses

    @classmethod
    def pagerduty(cls, specs_dir: Path, *, check_security: bool = True) -> SpecChecker:
        return cls(
            specs_dir / PAGERDUTY_SPEC,
            "https://api.pagerduty.com",
            tolerated=pagerduty_tolerated,
            generic_statuses=PD_GENERIC_STATUSES,
            check_security=check_security,
        )

    @classmethod
    def jira(cls, specs_dir: Path, *, check_security: bool = True) -> SpecChecker:
        # The document's server is `http://{baseurl}/rest`; paths start at /api/2.
        return cls(
            specs_dir / JIRA_SPEC,
            "http://localhost",
            tolerated=jira_tolerated,
            bearer_ok=True,
            rules=jira_rules,
            generic_statuses=JIRA_GENERIC_STATUSES,
            undocumented_statuses=JIRA_UNDOCUMENTED_STATUSES,
            check_security=check_security,
            path_aliases=(("/rest/api/latest/", "/rest/api/2/"),),
        )

    def _path(self, path: str) -> str:
        for alias, real in self._path_aliases:
            if path.startswith(alias):
                return real + path[len(alias) :]
        return path

    def _request(self, request: httpx.Request) -> _Request:
        content = request.content if request.content else None
        return _Request(
            host_url=self._host_url,
            path=self._path(request.url.path),
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
        self._check_document(request)
        broken = self._rules(request)
        if broken:
            text = "; ".join(broken)
            raise ContractViolation(
                f"request of {request.method} {request.url.path} violates the vendor's rules: "
                + text
            )

    def _check_document(self, request: httpx.Request) -> None:
        try:
            self._spec.validate_request(self._request(request))
        except Exception as exc:  # openapi-core raises a family of errors; report them all
            if type(exc).__name__ == "SecurityValidationError" and (
                not self._check_security
                or (
                    self._bearer_ok
                    and request.headers.get("authorization", "").lower().startswith("bearer ")
                )
            ):
                return
            if _real_errors(exc, self._tolerated) == []:
                return
            unknown = type(exc.__cause__ or exc).__name__ in _UNKNOWN_OPERATION
            raise ContractViolation(
                self._describe("request", request, exc), unknown_operation=unknown
            ) from exc

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
            cause = exc.__cause__ or exc
            if type(cause).__name__ == "ResponseNotFound" and self._known_status(response):
                return
            raise ContractViolation(self._describe("response", response.request, exc)) from exc

    def _known_status(self, response: httpx.Response) -> bool:
        status, request = response.status_code, response.request
        return status in self._generic_statuses or any(
            request.method == method and pattern.search(request.url.path) and status == code
            for method, pattern, code in self._undocumented
        )

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
