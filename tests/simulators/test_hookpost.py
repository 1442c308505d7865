"""The webhook delivery client: keep-alive connections reused, bodies of any framing read,
a receiver's close or silence reported as httpx's errors."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pdjira_simulators.common.hookpost import HookClient
from pdjira_simulators.testing import running_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


async def test_keep_alive_chunked_close_and_timeout() -> None:
    clients: list[tuple[str, int] | None] = []
    bodies: list[bytes] = []

    async def hook(request: Request) -> Response:
        clients.append(request.scope.get("client"))
        bodies.append(await request.body())
        if request.query_params.get("mode") == "chunked":

            async def parts():  # type: ignore[no-untyped-def]
                yield b"a"
                yield b"b"

            return StreamingResponse(parts(), status_code=201)
        if request.query_params.get("mode") == "close":
            return Response("bye", status_code=202, headers={"Connection": "close"})
        if request.query_params.get("mode") == "slow":
            await asyncio.sleep(1)
        return Response("ok", status_code=200)

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    client = HookClient(timeout=0.3)
    try:
        async with running_server(receiver) as base:
            url = f"{base}/hook"
            assert (await client.post(url, b"1", {"X-A": "b"})).status_code == 200
            assert (await client.post(url + "?mode=chunked", b"2", {})).status_code == 201
            assert (await client.post(url + "?mode=close", b"3", {})).status_code == 202
            assert (await client.post(url, b"4", {})).status_code == 200
            assert clients[0] == clients[1] == clients[2] != clients[3]  # reused until closed
            assert bodies == [b"1", b"2", b"3", b"4"]
            with pytest.raises(httpx.TimeoutException):
                await client.post(url + "?mode=slow", b"5", {})
        with pytest.raises(httpx.ConnectError):
            await client.post(url, b"6", {})
    finally:
        await client.aclose()
