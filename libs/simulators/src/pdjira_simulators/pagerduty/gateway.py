"""What PagerDuty checks before any handler: the token, the rate limit, the API version."""

from __future__ import annotations

import re
from collections.abc import Collection

import msgspec
from starlette.types import ASGIApp, Receive, Scope, Send

from pdjira_simulators.common.asgi import adding_headers, header, is_admin_path, reply
from pdjira_simulators.common.ratelimit import FixedWindowLimiter
from pdjira_simulators.pagerduty.errors import error_body

__all__ = ["PdGatewayMiddleware", "token_from_header"]

_TOKEN = re.compile(r"^Token token=(?P<token>\S+)$")
_BEARER = re.compile(r"^Bearer (?P<token>\S+)$")
_VERSION = re.compile(r"application/vnd\.pagerduty\+json;\s*version=(?P<v>\w+)")


def token_from_header(value: str | None) -> str | None:
    """`Token token=<key>` must be followed precisely; OAuth uses `Bearer <token>`."""
    if value is None:
        return None
    match = _TOKEN.match(value) or _BEARER.match(value)
    return match.group("token") if match else None


class PdGatewayMiddleware:
    """401 (code 2006), 429 (code 2020) with `ratelimit-*` headers, and the Accept check."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: Collection[str],
        limiter: FixedWindowLimiter,
        require_accept: bool,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.limiter = limiter
        self.require_accept = require_accept

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or is_admin_path(scope["path"])
            or scope["path"].startswith("/v2/")  # Events API: the routing key authenticates
        ):
            await self.app(scope, receive, send)
            return
        token = token_from_header(header(scope, b"authorization"))
        if token is None or token not in self.tokens:
            await _reply(send, 401, error_body("Authentication failed", 2006), [])
            return
        decision = self.limiter.hit(token)
        rl_headers = [
            (b"ratelimit-limit", str(decision.limit).encode()),
            (b"ratelimit-remaining", str(decision.remaining).encode()),
            (b"ratelimit-reset", str(decision.reset_seconds).encode()),
        ]
        if not decision.allowed:
            await _reply(send, 429, error_body("Rate Limit Exceeded", 2020), rl_headers)
            return
        problem = self._accept_problem(header(scope, b"accept"))
        if problem is not None:
            await _reply(send, 400, error_body(problem, 2001), rl_headers)
            return

        await self.app(scope, receive, adding_headers(send, rl_headers))

    def _accept_problem(self, accept: str | None) -> str | None:
        """Only version 2 exists; without the header the version follows the token's."""
        match = _VERSION.search(accept or "")
        if match is not None and match.group("v") != "2":
            return f"Unsupported API version: {match.group('v')}"
        if match is None and self.require_accept:
            return "Missing Accept header application/vnd.pagerduty+json;version=2"
        return None


async def _reply(
    send: Send, status: int, body: dict[str, object], headers: list[tuple[bytes, bytes]]
) -> None:
    await reply(send, status, msgspec.json.encode(body), headers)
