"""What every page gets: :class:`Console` (config, admin API clients, NATS, rendering)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import jinja2
from markupsafe import Markup
from nats.aio.client import Client
from nats.js import JetStreamContext
from pdjira_common.config import Config, HttpListen
from pdjira_common.secrets import Secret
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pdjira_console.auth import COOKIE, CSRF_FIELD, FLASH_COOKIE, FlashCookie, Session, sign

__all__ = ["AdminApiError", "Console", "NavEntry"]

TEMPLATES = Path(__file__).parent / "templates"
API_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class NavEntry:
    label: str
    path: str


class AdminApiError(Exception):
    """An admin API call that failed, with a message for the user (never a secret)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _base_url(listen: HttpListen) -> str:
    host = "127.0.0.1" if listen.host in ("0.0.0.0", "", "::") else listen.host
    return f"http://{host}:{listen.port}"


def _client(listen: HttpListen, token: Secret | None) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {token.reveal()}"} if token is not None else {}
    return httpx.AsyncClient(base_url=_base_url(listen), headers=headers, timeout=API_TIMEOUT)


@dataclass
class Console:
    """The console's state, shared by every page (see the package docstring)."""

    config: Config
    key: bytes
    nav: list[NavEntry] = field(default_factory=list)
    nats: Client | None = None
    rules: httpx.AsyncClient = field(init=False)
    mapping: httpx.AsyncClient = field(init=False)
    ingest: httpx.AsyncClient = field(init=False)
    templates: jinja2.Environment = field(init=False)

    def __post_init__(self) -> None:
        c = self.config
        self.rules = _client(c.listen.rules, c.rules_service.admin_token)
        self.mapping = _client(c.listen.mapping, c.mapping.admin_token)
        self.ingest = _client(c.listen.ingest, c.ingest.admin_token)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True
        )

    @property
    def js(self) -> JetStreamContext:
        """JetStream of the read-only NATS connection (raises when not connected)."""
        if self.nats is None:
            raise AdminApiError("not connected to NATS")
        return self.nats.jetstream()

    # ------------------------------------------------------------------ admin APIs
    async def call(self, client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> Any:
        """An admin API call; its JSON (None for an empty body). Failures raise
        :class:`AdminApiError` with the service's own message when it gives one."""
        try:
            response = await client.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise AdminApiError(
                f"{client.base_url} did not answer ({type(exc).__name__}): is the service "
                "running and listen.* in the console's config right?"
            ) from exc
        if response.status_code >= 400:
            raise AdminApiError(self.api_error(response), response.status_code)
        return response.json() if response.content else None

    async def get_json(self, client: httpx.AsyncClient, path: str, **kw: Any) -> Any:
        return await self.call(client, "GET", path, **kw)

    @staticmethod
    def api_error(response: httpx.Response) -> str:
        """An admin API error response as a message for the user."""
        detail = ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            parts = [str(body[k]) for k in ("error", "detail", "message", "fix") if body.get(k)]
            detail = ": " + "; ".join(parts) if parts else ""
        elif response.text:
            detail = ": " + response.text[:300]
        hint = ""
        if response.status_code in (401, 403):
            hint = " (check the admin tokens in the console's config)"
        elif response.status_code == 503:
            hint = " (the admin API may be disabled: no admin_token configured for it)"
        request = response.request
        return f"{request.method} {request.url.path} answered {response.status_code}{detail}{hint}"

    # ------------------------------------------------------------------ pages
    def render(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> Response:
        """``template`` with the user, CSRF token, nav and flash messages; clears the flash."""
        session = cast(Session | None, request.scope.get("session"))
        flash = cast(FlashCookie | None, request.scope.get("flash"))
        csrf = session.csrf if session is not None else ""

        def csrf_field() -> Markup:
            return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf)

        html = self.templates.get_template(template).render(
            request=request,
            user=session.user if session is not None else None,
            csrf_token=csrf,
            csrf_field=csrf_field,
            nav=self.nav,
            path=request.url.path,
            flash=flash,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        if flash is not None:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    def redirect(
        self, request: Request, url: str, *, notice: str = "", error: str = ""
    ) -> Response:
        """303 to ``url`` with a flash message shown on the next page."""
        response = RedirectResponse(url, status_code=303)
        if notice or error:
            response.set_cookie(
                FLASH_COOKIE,
                sign(self.key, FlashCookie(notice=notice, error=error)),
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    def set_session(self, request: Request, response: Response, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            sign(self.key, session),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
            max_age=max(0, int(session.expires - time.time())),
        )

    async def close(self) -> None:
        for client in (self.rules, self.mapping, self.ingest):
            await client.aclose()
        if self.nats is not None and not self.nats.is_closed:
            await self.nats.close()
