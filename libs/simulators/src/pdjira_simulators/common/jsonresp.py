"""Fast JSON responses and tolerant JSON request parsing."""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["JsonResponse", "MalformedJson", "read_json"]

_decoder = msgspec.json.Decoder()


class JsonResponse(Response):
    """JSON response encoded with msgspec: the simulators also serve benchmarks."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


class MalformedJson(ValueError):
    """The request body is not valid JSON."""


async def read_json(request: Request) -> Any:
    """Return the decoded body, None for an empty body; raise MalformedJson otherwise."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise MalformedJson(str(exc)) from exc
