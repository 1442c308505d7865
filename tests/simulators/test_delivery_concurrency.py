"""A burst of incidents (each its own ordered webhook queue) is delivered with a bounded number
of requests in flight: thousands at once made httpx's pool scan quadratic and the simulator
spent minutes of CPU on a 2,000-incident burst."""

from __future__ import annotations

import asyncio

import httpx
from pdjira_simulators.common.deliveries import MAX_IN_FLIGHT
from pdjira_simulators.pagerduty import PagerDutySettings
from pdjira_simulators.pagerduty import create_app as create_pd_app
from pdjira_simulators.testing import running_server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

INCIDENTS = 120


async def test_a_burst_is_delivered_with_bounded_requests_in_flight() -> None:
    in_flight = 0
    most = 0
    delivered = 0
    all_in = asyncio.Event()

    async def receive(request: Request) -> Response:
        nonlocal in_flight, most, delivered
        in_flight += 1
        most = max(most, in_flight)
        await request.body()
        await asyncio.sleep(0.02)  # a receiver that takes a moment: requests overlap
        in_flight -= 1
        delivered += 1
        if delivered == INCIDENTS:
            all_in.set()
        return Response(status_code=202)

    receiver = Starlette(routes=[Route("/webhook", receive, methods=["POST"])])
    async with running_server(receiver) as rx:
        settings = PagerDutySettings(
            token="t", webhook_url=f"{rx}/webhook", webhook_secrets=("s",), seed=1
        )
        async with (
            running_server(create_pd_app(settings)) as pd,
            httpx.AsyncClient(base_url=pd, trust_env=False) as admin,
        ):
            created = await asyncio.gather(
                *(
                    admin.post("/_sim/incidents", json={"title": f"burst {i}"})
                    for i in range(INCIDENTS)
                )
            )
            assert {r.status_code for r in created} == {201}
            await asyncio.wait_for(all_in.wait(), timeout=30)
    assert 1 < most <= MAX_IN_FLIGHT
