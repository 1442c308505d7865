"""Webhook deliveries as the simulators make them, against real local receivers: keep-alive
connections reused (a stale one replaced without a failed attempt), timeouts, refused
connections, receivers that hang up, non-2xx answers, and the delivery log each leaves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from pdjira_simulators.jira import JiraSettings
from pdjira_simulators.jira import create_app as create_jira_app
from pdjira_simulators.pagerduty import PagerDutySettings
from pdjira_simulators.pagerduty import create_app as create_pd_app
from pdjira_simulators.testing import free_port, running_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Outcome = tuple[int, int | None, str | None]  # (attempt, status_code, error)


@asynccontextmanager
async def jira_delivering_to(
    url: str, *, timeout: float = 10.0
) -> AsyncIterator[Callable[[], Awaitable[list[Outcome]]]]:
    """A Jira simulator whose webhooks go to `url`; yields a function creating one issue (one
    webhook) and answering the delivery log once every webhook was attempted."""
    app = create_jira_app(JiraSettings(webhook_url=url, webhook_timeout=timeout, seed=1))
    async with running_server(app) as base, httpx.AsyncClient(base_url=base) as admin:

        async def create_issue_and_settle() -> list[Outcome]:
            created = await admin.post("/_sim/issues", json={"summary": "hooked"})
            assert created.status_code == 201
            await asyncio.wait_for(app.state.sim.dispatcher.idle(), timeout=10)
            return _outcomes((await admin.get("/_sim/deliveries")).json()["deliveries"])

        yield create_issue_and_settle


@asynccontextmanager
async def pagerduty_delivering_to(
    url: str, *, timeout: float = 5.0, max_attempts: int = 1000
) -> AsyncIterator[Callable[[], Awaitable[list[Outcome]]]]:
    """A PagerDuty simulator (retries after 10 ms); like :func:`jira_delivering_to`."""
    settings = PagerDutySettings(
        webhook_url=url,
        webhook_secrets=("s",),
        webhook_retry_delay=0.01,
        webhook_timeout=timeout,
        webhook_max_attempts=max_attempts,
        webhook_disable_after=0,
        seed=1,
    )
    app = create_pd_app(settings)
    async with running_server(app) as base, httpx.AsyncClient(base_url=base) as admin:

        async def create_incident_and_settle() -> list[Outcome]:
            created = await admin.post("/_sim/incidents", json={"title": "hooked"})
            assert created.status_code == 201
            await asyncio.wait_for(app.state.sim.dispatcher.idle(), timeout=10)
            return _outcomes((await admin.get("/_sim/deliveries")).json()["deliveries"])

        yield create_incident_and_settle


def _outcomes(deliveries: list[dict[str, Any]]) -> list[Outcome]:
    return [(d["attempt"], d["status_code"], d["error"]) for d in deliveries]


@asynccontextmanager
async def raw_receiver(
    answer: Callable[[int], bytes | None],
) -> AsyncIterator[tuple[str, list[int]]]:
    """A receiver on bare sockets: `answer(n)` is the bytes sent for the n-th request (from 1)
    on a connection, or None to hang up instead. Yields its URL and the connection each
    request came on (numbered from 1)."""
    requests: list[int] = []
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        connection = connections
        try:
            for n in range(1, 1000):
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await reader.readexactly(length)
                requests.append(connection)
                reply = answer(n)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook", requests
    finally:
        server.close()
        await server.wait_closed()


ACCEPTED = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok"


async def test_one_keep_alive_connection_until_the_receiver_closes_it() -> None:
    clients: list[Any] = []

    async def hook(request: Request) -> Response:
        clients.append(request.scope["client"])
        await request.body()
        if len(clients) == 3:
            return Response("bye", status_code=202, headers={"Connection": "close"})
        return Response("ok", status_code=200)

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    async with running_server(receiver) as rx, jira_delivering_to(f"{rx}/hook") as deliver:
        for _ in range(4):
            log = await deliver()
    assert log == [(1, 200, None), (1, 200, None), (1, 202, None), (1, 200, None)]
    assert clients[0] == clients[1] == clients[2] != clients[3]


async def test_a_stale_keep_alive_connection_is_replaced_without_a_failed_attempt() -> None:
    # The receiver answers the first request on each connection and hangs up on the next: what
    # a client sees when its idle connection was closed as it sent a request on it.
    async with (
        raw_receiver(lambda n: ACCEPTED if n == 1 else None) as (url, connections),
        jira_delivering_to(url) as deliver,
    ):
        for _ in range(3):
            log = await deliver()
    assert log == [(1, 202, None)] * 3
    assert connections == [1, 1, 2, 2, 3]


async def test_a_receiver_hanging_up_without_an_answer_is_a_failed_attempt() -> None:
    async with (
        raw_receiver(lambda n: None) as (url, connections),
        pagerduty_delivering_to(url, max_attempts=2) as deliver,
    ):
        log = await deliver()
    error = "RemoteProtocolError: Server disconnected without sending a response."
    assert log == [(1, None, error), (2, None, error)]
    assert connections == [1, 2]  # each on a new connection, none resent


async def test_timeouts_fail_the_attempt_and_pagerduty_retries() -> None:
    calls = 0
    release = asyncio.Event()

    async def slow_once(request: Request) -> Response:
        nonlocal calls
        calls += 1
        await request.body()
        if calls == 1:
            await release.wait()  # longer than the timeout
        return Response(status_code=202)

    receiver = Starlette(routes=[Route("/hook", slow_once, methods=["POST"])])
    async with running_server(receiver) as rx:
        try:
            async with jira_delivering_to(f"{rx}/hook", timeout=0.2) as deliver:
                jira_log = await deliver()
                jira_log = await deliver()  # on a new connection: the timed-out one is gone
            calls = 0
            async with pagerduty_delivering_to(f"{rx}/hook", timeout=0.2) as deliver:
                pd_log = await deliver()
        finally:
            release.set()
    assert jira_log == [(1, None, "timeout"), (1, 202, None)]  # Jira never retries
    assert pd_log == [(1, None, "timeout"), (2, 202, None)]


async def test_refused_connections_name_the_address() -> None:
    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}/hook"
    error = f"ConnectError: [Errno 111] Connect call failed ('127.0.0.1', {port})"
    async with jira_delivering_to(url) as deliver:
        assert await deliver() == [(1, None, error)]
    async with pagerduty_delivering_to(url, max_attempts=3) as deliver:
        assert await deliver() == [(1, None, error), (2, None, error), (3, None, error)]


async def test_non_2xx_answers_are_logged_and_retried_as_pagerduty_does() -> None:
    statuses = [503, 429, 202, 500, 400]

    async def hook(request: Request) -> Response:
        await request.body()
        return Response("no" * 500, status_code=statuses.pop(0))

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    async with running_server(receiver) as rx:
        async with pagerduty_delivering_to(f"{rx}/hook") as deliver:
            assert await deliver() == [(1, 503, None), (2, 429, None), (3, 202, None)]
        async with jira_delivering_to(f"{rx}/hook") as deliver:
            assert await deliver() == [(1, 500, None)]  # Jira never retries
        async with pagerduty_delivering_to(f"{rx}/hook") as deliver:
            assert await deliver() == [(1, 400, None)]  # other 4xx: dropped
    assert statuses == []
