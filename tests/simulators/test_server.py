"""The simulators' server: up when ``running_server`` yields, and on stopping it finishes the
request in flight, closes, and runs the app's shutdown; a startup failure is raised."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from pdjira_simulators.testing import running_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def test_stopping_finishes_the_request_in_flight_then_shuts_the_app_down() -> None:
    arrived, release = asyncio.Event(), asyncio.Event()
    shut_down = asyncio.Event()

    async def slow(request: Request) -> Response:
        arrived.set()
        await release.wait()
        return Response("done")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        shut_down.set()

    app = Starlette(routes=[Route("/slow", slow)], lifespan=lifespan)
    server = running_server(app)
    base = await server.__aenter__()
    async with httpx.AsyncClient(base_url=base, trust_env=False) as client:
        answer = asyncio.create_task(client.get("/slow"))
        await arrived.wait()
        stopping = asyncio.create_task(server.__aexit__(None, None, None))
        release.set()  # the stop does not cut the request in flight short
        assert (await answer).text == "done"
        await asyncio.wait_for(stopping, timeout=10)
    assert shut_down.is_set()
    async with httpx.AsyncClient(trust_env=False) as fresh:
        with pytest.raises(httpx.ConnectError):
            await fresh.get(f"{base}/slow")


async def test_idle_keep_alive_connections_do_not_hold_the_stop() -> None:
    app = Starlette(routes=[Route("/", lambda request: Response("ok"))])
    async with httpx.AsyncClient(trust_env=False) as client:  # keeps its connection open
        async with running_server(app) as base:
            assert (await client.get(base)).text == "ok"
        # Left the block: the server closed the idle connection instead of waiting on it.
        with pytest.raises(httpx.TransportError):
            await client.get(base)


async def test_a_startup_failure_is_raised() -> None:
    @asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    with pytest.raises(RuntimeError, match="uvicorn exited with code 3 while starting"):
        async with running_server(Starlette(lifespan=broken)):
            pass
