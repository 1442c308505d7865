"""Small ASGI helpers shared by the middlewares."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Scope, Send

__all__ = [
    "ANSWER_DECIDED",
    "Headers",
    "adding_headers",
    "header",
    "is_admin_path",
    "reply",
    "scope_state",
]

Headers = Sequence[tuple[bytes, bytes]]
# Scope-state key of a callback taking the status the vendor decided on: a layer that holds the
# answer back (a delayed response) calls it, so the call is on record from the moment its work
# is done, also when the client gives up before the answer arrives.
ANSWER_DECIDED = "answer_decided"


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


async def reply(
    send: Send,
    status: int,
    body: bytes,
    headers: Headers = (),
    *,
    content_type: bytes = b"application/json",
) -> None:
    """Answer from a middleware, before (instead of) the app."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def adding_headers(send: Send, headers: Headers) -> Send:
    """``send`` that adds ``headers`` to the app's response (e.g. the rate limit's)."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            response_headers = MutableHeaders(scope=message)
            for key, value in headers:
                response_headers.append(key.decode(), value.decode())
        await send(message)

    return wrapped
