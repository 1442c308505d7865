"""Contract mode: check every REST exchange against the vendor's OpenAPI document, live.

Off by default. When on (`--check-contract`, `PDJIRA_SIM_CHECK_CONTRACT=1`), each incoming
REST request (not `/_sim/*`, `/health` or the listed exempt prefixes) is validated before it is
handled, and the simulator's own answer after; every mismatch is recorded and served by
`GET /_sim/contract-violations`. In strict mode (`PDJIRA_SIM_CHECK_CONTRACT=strict`) the
caller also gets a 500 naming the violation: a bad request is then not handled at all (no state
change), a bad response is replaced.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pdjira_simulators.common.asgi import is_admin_path
from pdjira_simulators.common.jsonresp import JsonResponse

if TYPE_CHECKING:  # openapi-core takes seconds to import: only when contract mode is on
    from pdjira_simulators.contract import SpecChecker

__all__ = [
    "ENV_VAR",
    "ContractMiddleware",
    "ContractMonitor",
    "RecordedViolation",
    "contract_mode_from_env",
    "contract_routes",
    "load_checker",
]

ENV_VAR = "PDJIRA_SIM_CHECK_CONTRACT"
VIOLATION_HEADER = "x-sim-contract-violation"


def contract_mode_from_env(environ: dict[str, str] | None = None) -> tuple[bool, bool]:
    """(check, strict) from `PDJIRA_SIM_CHECK_CONTRACT`: 1/true/yes/on, or `strict`."""
    value = (environ if environ is not None else os.environ).get(ENV_VAR, "").strip().lower()
    if value == "strict":
        return True, True
    return value in {"1", "true", "yes", "on"}, False


def load_checker(vendor: str) -> SpecChecker:
    """The checker for "pagerduty" or "jira"; a missing spec is a startup error, not a
    silent pass."""
    from pdjira_simulators.contract import SpecChecker, find_specs_dir

    specs = find_specs_dir()
    if specs is None:
        raise RuntimeError(
            "contract mode needs the vendor OpenAPI specs: run from a pdjira checkout (they are in "
            "its specs/ folder) or set PDJIRA_SPECS_DIR to a folder holding them"
        )
    # Credentials are the gateway's business: a missing or bad one gets the vendor's 401, as
    # callers must be able to test, not a contract violation.
    if vendor == "pagerduty":
        return SpecChecker.pagerduty(specs, check_security=False)
    return SpecChecker.jira(specs, check_security=False)


@dataclass(frozen=True, slots=True)
class RecordedViolation:
    method: str
    path: str
    kind: str  # "request" | "response"
    message: str
    status: int | None
    at: str

    def as_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "path": self.path,
            "kind": self.kind,
            "message": self.message,
            "status": self.status,
            "at": self.at,
        }


class ContractMonitor:
    """The checker (None = contract mode off), the violations seen, and the exchange count."""

    def __init__(
        self, checker: SpecChecker | None, *, strict: bool = False, max_entries: int = 10_000
    ) -> None:
        self.checker = checker
        self.strict = strict and checker is not None
        self.checked = 0
        self._violations: deque[RecordedViolation] = deque(maxlen=max_entries)

    @property
    def enabled(self) -> bool:
        return self.checker is not None

    def record(self, violation: RecordedViolation) -> None:
        self._violations.append(violation)

    def violations(self) -> list[RecordedViolation]:
        return list(self._violations)

    def clear(self) -> None:
        self._violations.clear()
        self.checked = 0

    def as_json(self) -> dict[str, object]:
        return {
            "enabled": self.enabled,
            "strict": self.strict,
            "checked": self.checked,
            "violations": [v.as_json() for v in self._violations],
        }


class ContractMiddleware:
    """Sits inside the fault injector (injected 503s are not the vendor's answers) and outside
    the auth/rate-limit gateway (its 401s and 429s are)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        monitor: ContractMonitor,
        error_body: Callable[[str], bytes],
        exempt: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.monitor = monitor
        self.error_body = error_body
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        checker = self.monitor.checker
        if (
            checker is None
            or scope["type"] != "http"
            or is_admin_path(scope["path"])
            or scope["path"].startswith(self.exempt)
        ):
            await self.app(scope, receive, send)
            return
        from pdjira_simulators.contract import ContractViolation

        body, replay = await _buffer_request(receive)
        request = _httpx_request(scope, body)
        self.monitor.checked += 1
        documented = True
        try:
            checker.check_request(request)
        except ContractViolation as exc:
            self._record(scope, "request", str(exc), None)
            if self.monitor.strict:
                await self._reject(send, "request", str(exc))
                return
            documented = not exc.unknown_operation

        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
            else:  # pragma: no cover - trailers etc. are never sent by the simulators
                await send(message)

        await self.app(scope, replay, capture)
        if start is None:  # the app sent nothing (e.g. it crashed); let the server handle it
            return
        content = b"".join(chunks)
        if not documented:  # no operation to check the answer against: reported once
            await send(start)
            await send({"type": "http.response.body", "body": content})
            return
        status = int(start["status"])
        response = httpx.Response(
            status,
            headers=[(bytes(k), bytes(v)) for k, v in start.get("headers", [])],
            content=content,
            request=request,
        )
        try:
            checker.check_response(response)
        except ContractViolation as exc:
            self._record(scope, "response", str(exc), status)
            if self.monitor.strict:
                await self._reject(send, "response", str(exc))
                return
        await send(start)
        await send({"type": "http.response.body", "body": content})

    def _record(self, scope: Scope, kind: str, message: str, status: int | None) -> None:
        self.monitor.record(
            RecordedViolation(
                method=scope["method"],
                path=scope["path"],
                kind=kind,
                message=message,
                status=status,
                at=datetime.now(UTC).isoformat(),
            )
        )

    async def _reject(self, send: Send, kind: str, message: str) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 500,
                "headers": [
                    (b"content-type", b"application/json"),
                    (VIOLATION_HEADER.encode(), kind.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": self.error_body(message)})


async def _buffer_request(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body, and a `receive` that replays it to the app."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(bytes(message.get("body", b"")))
        if not message.get("more_body", False):
            break
    body = b"".join(parts)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _httpx_request(scope: Scope, body: bytes) -> httpx.Request:
    headers = [(bytes(k), bytes(v)) for k, v in scope.get("headers", [])]
    host = next((v.decode("latin-1") for k, v in headers if k == b"host"), "localhost")
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    url = f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}{scope['path']}"
    if query:
        url += "?" + query
    return httpx.Request(scope["method"], url, headers=headers, content=body)


def contract_routes(monitor: ContractMonitor) -> list[Route]:
    """`GET|DELETE /_sim/contract-violations`, identical on both simulators."""

    async def violations(request: Request) -> Response:
        if request.method == "DELETE":
            monitor.clear()
        return JsonResponse(monitor.as_json())

    return [Route("/_sim/contract-violations", violations, methods=["GET", "DELETE"])]
