"""What every simulator instance has besides its vendor's state: the request log, contract mode,
REST faults, webhook faults, the delivery log and worker, and the `/_sim` routes over them."""

from __future__ import annotations

from typing import Generic, Literal, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.contract_mode import ContractMonitor, contract_routes, load_checker
from pdjira_simulators.common.deliveries import DeliveryLog, Dispatcher, delivery_routes
from pdjira_simulators.common.faults import FaultInjector, fault_routes
from pdjira_simulators.common.jsonresp import JsonResponse
from pdjira_simulators.common.requestlog import RequestLog
from pdjira_simulators.common.webhook_faults import WebhookFaultInjector

__all__ = ["CoreSettings", "SimulatorCore"]

H = TypeVar("H")


class CoreSettings(Protocol):
    """What the common parts read from a vendor's settings."""

    @property
    def seed(self) -> int | None: ...
    @property
    def check_contract(self) -> bool: ...
    @property
    def contract_strict(self) -> bool: ...


class SimulatorCore(Generic[H]):
    """Subclasses set ``dispatcher`` (their vendor's delivery worker) in ``__init__``."""

    dispatcher: Dispatcher[H]

    def __init__(self, vendor: Literal["pagerduty", "jira"], settings: CoreSettings) -> None:
        check = settings.check_contract or settings.contract_strict
        self.requests = RequestLog()
        self.contract = ContractMonitor(
            load_checker(vendor) if check else None, strict=settings.contract_strict
        )
        self.deliveries = DeliveryLog()
        self.faults = FaultInjector(settings.seed)
        self.webhook_faults: WebhookFaultInjector[H] = WebhookFaultInjector(settings.seed)

    def common_routes(self, *, actor_key: str, subject_key: str) -> list[Route]:
        """`/health` and the `/_sim` introspection both vendors share (`actor_key` names the
        caller in `/_sim/requests`, `subject_key` the incident or issue in `/_sim/deliveries`)."""

        async def health(request: Request) -> Response:
            return JsonResponse({"status": "ok"})

        async def requests(request: Request) -> Response:
            if request.method == "DELETE":
                self.requests.clear()
            return JsonResponse({"requests": self.requests.as_json(actor_key)})

        return [
            Route("/health", health, methods=["GET"]),
            Route("/_sim/requests", requests, methods=["GET", "DELETE"]),
            *delivery_routes(
                self.deliveries, self.dispatcher, self.webhook_faults, subject_key=subject_key
            ),
            *fault_routes(self.faults),
            *contract_routes(self.contract),
        ]
