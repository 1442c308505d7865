"""One Starlette app shape for both simulators: the middleware order and the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute
from starlette.types import Scope

from pdjira_simulators.common.contract_mode import ContractMiddleware
from pdjira_simulators.common.faults import FaultMiddleware
from pdjira_simulators.common.requestlog import RequestLogMiddleware
from pdjira_simulators.common.runtime import SimulatorCore

__all__ = ["simulator_app"]


def simulator_app(
    sim: SimulatorCore[Any],
    *,
    routes: Sequence[BaseRoute],
    gateway: Middleware,
    actor: Callable[[Scope], str | None],
    unavailable_body: bytes,
    throttled: Callable[[], tuple[bytes, list[tuple[bytes, bytes]]]],
    contract_error: Callable[[str], bytes],
    contract_exempt: tuple[str, ...],
    exception_handlers: Mapping[Any, Callable[..., Any]],
) -> Starlette:
    """``routes`` behind, outermost first: the request log (it sees faults, 401s and 429s too),
    REST faults (503 ``unavailable_body``, the vendor's 429 ``throttled``), contract mode
    (injected faults are not the vendor's answers), then the vendor's auth/rate-limit
    ``gateway``. Stopping closes the webhook worker. ``app.state.sim`` is ``sim``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sim.dispatcher.aclose()

    app = Starlette(
        routes=list(routes),
        middleware=[
            Middleware(RequestLogMiddleware, log=sim.requests, actor=actor),
            Middleware(
                FaultMiddleware,
                injector=sim.faults,
                error_body=unavailable_body,
                throttled=throttled,
            ),
            Middleware(
                ContractMiddleware,
                monitor=sim.contract,
                error_body=contract_error,
                exempt=contract_exempt,
            ),
            gateway,
        ],
        exception_handlers=dict(exception_handlers),
        lifespan=lifespan,
    )
    app.state.sim = sim
    return app
