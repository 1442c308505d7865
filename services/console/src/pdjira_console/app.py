"""The console's ASGI app: login/logout, /health and /live, every page behind the login."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import nats
from pdjira_common.config import Config
from pdjira_common.health import LIVENESS_PATH, READINESS_PATH, VERSION
from pdjira_common.logging import get_logger
from pdjira_common.nats_connect import connect_options
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pdjira_console.auth import (
    COOKIE,
    CSRF_FIELD,
    FLASH_COOKIE,
    FlashCookie,
    Session,
    check_token,
    open_signed,
    session_key,
    sign,
)
from pdjira_console.context import Console
from pdjira_console.pages import PAGES

__all__ = ["create_app"]

_log = get_logger("pdjira_console")
Endpoint = Callable[[Request], Awaitable[Response]]
SERVICE = "console"


def current_session(console: Console, request: Request) -> Session | None:
    """The logged-in user's session: the trusted proxy header's user, else the cookie's."""
    header = console.config.console.trusted_user_header
    if header:
        user = request.headers.get(header, "").strip()
        if user:
            csrf = hmac.new(console.key, b"csrf:" + user.encode(), hashlib.sha256).hexdigest()
            return Session(user=user, csrf=csrf, expires=float("inf"))
    session = cast(Session | None, open_signed(console.key, request.cookies.get(COOKIE), Session))
    if session is None or session.expires < time.time():
        return None
    return session


def guarded(console: Console, endpoint: Endpoint) -> Endpoint:
    """``endpoint`` behind the login, and every POST behind the CSRF check."""

    async def guard(request: Request) -> Response:
        session = current_session(console, request)
        if session is None:
            if request.method != "GET":
                return PlainTextResponse(
                    "Not logged in (or the session expired): log in at /login and try again.",
                    status_code=403,
                )
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        request.scope["session"] = session
        request.scope["flash"] = open_signed(
            console.key, request.cookies.get(FLASH_COOKIE), FlashCookie
        )
        if request.method == "POST":
            form = await request.form()
            sent = str(form.get(CSRF_FIELD, ""))
            if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                return PlainTextResponse(
                    "Refused: this form's CSRF token is missing or wrong (a stale page, or a "
                    "request from another site). Reload the page and submit the form again.",
                    status_code=403,
                )
        return await endpoint(request)

    return guard


PUBLIC_COOKIE = "pdjira_console_public"  # the CSRF token of a public page's forms
PUBLIC_SECONDS = 15 * 60


def public(console: Console, endpoint: Endpoint) -> Endpoint:
    """``endpoint`` open to anyone (no login), its POSTs behind a CSRF token tied to a
    short-lived signed cookie (``PUBLIC_COOKIE``, set by the GET that renders the form).

    Only for pages a person without the admin token must use (a page module's
    ``public_routes``): such a page has no nav, no user, and no admin rights of its own."""

    async def guard(request: Request) -> Response:
        now = time.time()
        found = cast(
            Session | None, open_signed(console.key, request.cookies.get(PUBLIC_COOKIE), Session)
        )
        if found is not None and (found.user or found.expires < now):
            found = None  # an expired (or not a public) token
        request.scope["flash"] = open_signed(
            console.key, request.cookies.get(FLASH_COOKIE), FlashCookie
        )
        if request.method == "POST":
            form = await request.form()
            sent = str(form.get(CSRF_FIELD, ""))
            if found is None or not hmac.compare_digest(sent.encode(), found.csrf.encode()):
                return PlainTextResponse(
                    "Refused: this form's CSRF token is missing, expired or wrong (a page left "
                    "open too long, or a request from another site). Reload the page and submit "
                    "the form again.",
                    status_code=403,
                )
            request.scope["session"] = found
            return await endpoint(request)
        # A GET: a fresh token unless the current one has most of its life left.
        fresh = found is None or found.expires - now < PUBLIC_SECONDS / 2
        token = Session(user="", csrf=secrets.token_urlsafe(24), expires=now + PUBLIC_SECONDS)
        request.scope["session"] = token if fresh or found is None else found
        response = await endpoint(request)
        if fresh:
            response.set_cookie(
                PUBLIC_COOKIE,
                sign(console.key, token),
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
                max_age=PUBLIC_SECONDS,
            )
        return response

    return guard


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/"


def auth_routes(console: Console) -> list[BaseRoute]:
    settings = console.config.console

    async def login_page(request: Request) -> Response:
        if current_session(console, request) is not None:
            return RedirectResponse("/", status_code=303)
        request.scope["flash"] = open_signed(
            console.key, request.cookies.get(FLASH_COOKIE), FlashCookie
        )
        return console.render(
            request,
            "login.html",
            next=_safe_next(request.query_params.get("next", "/")),
            can_login=settings.admin_token is not None,
        )

    async def login(request: Request) -> Response:
        form = await request.form()
        entered = str(form.get("token", ""))
        target = _safe_next(str(form.get("next", "/")))
        if not check_token(settings, entered):
            _log.warning("console_login_refused", client=request.client and request.client.host)
            return console.redirect(
                request,
                f"/login?next={target}",
                error="That admin token is not the configured console.admin_token: try again.",
            )
        response = console.redirect(request, target, notice="Logged in.")
        console.set_session(request, response, Session.new("admin"))
        _log.info("console_login", client=request.client and request.client.host)
        return response

    async def logout(request: Request) -> Response:
        response = console.redirect(request, "/login", notice="Logged out.")
        response.delete_cookie(COOKIE, path="/")
        return response

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", guarded(console, logout), methods=["POST"]),
    ]


def probe_routes(console: Console) -> list[BaseRoute]:
    def state() -> str:
        client = console.nats
        if client is None:
            return "disconnected"
        if client.is_closed:
            return "closed"
        if client.is_connected:
            return "connected"
        return "reconnecting" if client.is_reconnecting else "disconnected"

    def answer(nats_state: str, status: str, healthy: bool) -> Response:
        body = {
            "status": status,
            "service": SERVICE,
            "checks": {"nats": nats_state},
            "version": VERSION,
        }
        return JSONResponse(
            body, status_code=200 if healthy else 503, headers={"cache-control": "no-store"}
        )

    async def ready(_: Request) -> Response:
        nats_state = state()
        ok = nats_state == "connected"
        return answer(nats_state, "ok" if ok else "unavailable", ok)

    async def live(_: Request) -> Response:
        nats_state = state()
        dead = nats_state == "closed"
        return answer(nats_state, "dead" if dead else "ok", not dead)

    return [Route(READINESS_PATH, ready), Route(LIVENESS_PATH, live)]


def page_routes(console: Console) -> list[BaseRoute]:
    routes: list[BaseRoute] = []

    def add(route: Route, wrap: Callable[[Console, Endpoint], Endpoint]) -> None:
        routes.append(
            Route(
                route.path,
                wrap(console, route.endpoint),
                methods=list(route.methods or ["GET"]),
                name=route.name,
            )
        )

    for page in PAGES:
        if page.NAV is not None:
            console.nav.append(page.NAV)
        for route in page.routes(console):
            add(route, guarded)
        # Routes open without the login (see ``public``): few, and each reviewed.
        for route in getattr(page, "public_routes", lambda _: [])(console):
            add(route, public)
    return routes


def create_app(config: Config) -> Starlette:
    """The console, not started (its lifespan connects to NATS and closes the clients)."""
    key = session_key(config.console) or secrets.token_bytes(32)
    console = Console(config=config, key=key)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        console.nats = await nats.connect(
            **connect_options(config.nats),
            name="pdjira-console",
            max_reconnect_attempts=-1,
        )
        if config.console.admin_token is None and not config.console.trusted_user_header:
            _log.warning(
                "console_no_login",
                fix="set console.admin_token (or console.trusted_user_header behind a proxy)",
            )
        try:
            yield
        finally:
            await console.close()

    routes = [*probe_routes(console), *auth_routes(console), *page_routes(console)]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.console = console
    return app
