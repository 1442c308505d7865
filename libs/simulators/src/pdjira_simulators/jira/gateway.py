"""What Jira checks before any REST handler: who is calling, and (if enabled) rate limits."""

from __future__ import annotations

import base64
import binascii

import msgspec
from starlette.types import ASGIApp, Receive, Scope, Send

from pdjira_simulators.common.asgi import adding_headers, header, reply, scope_state
from pdjira_simulators.jira.catalog import JiraUser
from pdjira_simulators.jira.errors import error_body
from pdjira_simulators.jira.runtime import JiraSimulator

__all__ = ["USER_STATE_KEY", "JiraGatewayMiddleware"]

USER_STATE_KEY = "jira_user"
# Jira answers these without a login (anonymous access).
_ANONYMOUS = frozenset({"/rest/api/2/serverInfo", "/rest/api/latest/serverInfo"})


class JiraGatewayMiddleware:
    """Basic auth or `Bearer <PAT>`; 401 like Jira; per-user token bucket when enabled."""

    def __init__(self, app: ASGIApp, *, sim: JiraSimulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/rest/"):
            await self.app(scope, receive, send)
            return
        user, failed, captcha = self._identify(header(scope, b"authorization"))
        if captcha:
            # Too many failed logins: Jira wants a CAPTCHA solved in the browser first.
            await _reply(
                send,
                403,
                error_body(["CAPTCHA_CHALLENGE"]),
                [
                    (b"x-seraph-loginreason", b"AUTHENTICATION_DENIED"),
                    (
                        b"x-authentication-denied-reason",
                        b"CAPTCHA_CHALLENGE; login-url=/login.jsp",
                    ),
                    (b"x-ausername", b"anonymous"),
                ],
            )
            return
        if failed or (user is None and scope["path"] not in _ANONYMOUS):
            await _reply(
                send,
                401,
                error_body(
                    [
                        "You are not authenticated. Authentication required to perform "
                        "this operation."
                    ]
                ),
                [
                    (b"www-authenticate", b'Basic realm="protected-area"'),
                    (
                        b"x-seraph-loginreason",
                        b"AUTHENTICATED_FAILED" if failed else b"AUTHENTICATION_DENIED",
                    ),
                    (b"x-ausername", b"anonymous"),
                ],
            )
            return
        name = user.name if user else "anonymous"
        scope_state(scope)[USER_STATE_KEY] = user.name if user else None
        extra = [(b"x-ausername", name.encode())]
        rl = self.sim.ratelimit
        if rl.limiter is not None and user is not None and user.name not in rl.exempt:
            decision = rl.limiter.take(user.name)
            extra += [
                (b"x-ratelimit-limit", str(decision.capacity).encode()),
                (b"x-ratelimit-remaining", str(decision.remaining).encode()),
                (b"x-ratelimit-fillrate", str(decision.fill_rate).encode()),
                (b"x-ratelimit-interval-seconds", str(decision.interval_seconds).encode()),
                (b"retry-after", str(decision.retry_after).encode()),
            ]
            if not decision.allowed:
                await _reply(send, 429, error_body(["Rate limit exceeded."]), extra)
                return

        await self.app(scope, receive, adding_headers(send, extra))

    def _identify(self, authorization: str | None) -> tuple[JiraUser | None, bool, bool]:
        """(user, failed, captcha): no header -> anonymous; a bad header -> failed; a user
        with too many failed basic logins -> captcha (even with the right password)."""
        if not authorization:
            return None, False, False
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            name = self.sim.tokens.get(value.strip())
            user = self.sim.state.catalog.users.get(name) if name else None
            return user, user is None, False
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None, True, False
            username, _, password = decoded.partition(":")
            if self.sim.captcha_required(username):
                return None, True, True
            user = self.sim.authenticate(username, password)
            if user is None:
                failures = self.sim.login_failures
                failures[username] = failures.get(username, 0) + 1
            else:
                self.sim.login_failures.pop(username, None)
            return user, user is None, False
        return None, True, False


async def _reply(
    send: Send, status: int, body: dict[str, object], headers: list[tuple[bytes, bytes]]
) -> None:
    await reply(
        send,
        status,
        msgspec.json.encode(body),
        headers,
        content_type=b"application/json;charset=UTF-8",
    )
