"""Routes declared where their handler is: ``@route("/_sim/issues", "POST")``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["RouteTable"]

Handler = Callable[[Request], Awaitable[Response]]


class RouteTable:
    """Collects routes from decorated handlers, in declaration order."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def __call__(self, path: str, *methods: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(Route(path, handler, methods=list(methods)))
            return handler

        return register
