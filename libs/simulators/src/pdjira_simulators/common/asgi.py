"""Small ASGI helpers shared by the middlewares."""

from __future__ import annotations

from starlette.types import Scope

__all__ = ["header", "is_admin_path", "scope_state"]


def header(scope: Scope, name: bytes) -> str | None:
    """First value of a request header (name in lower case), decoded as latin-1 like HTTP."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def is_admin_path(path: str) -> bool:
    """Test/admin endpoints and the health check are never faulted, limited or logged."""
    return path.startswith("/_sim") or path == "/health"


def scope_state(scope: Scope) -> dict[str, object]:
    """The per-request state dict; created up front so every middleware shares one object."""
    state = scope.setdefault("state", {})
    assert isinstance(state, dict)
    return state
