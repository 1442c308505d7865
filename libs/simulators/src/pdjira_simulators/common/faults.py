"""Injected HTTP faults: latency before handling, delay after the write, random 503s, and
bursts of 429s shaped like the vendor's own rate-limit answer."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pdjira_simulators.common.asgi import ANSWER_DECIDED, is_admin_path, reply, scope_state
from pdjira_simulators.common.jsonresp import JsonResponse, MalformedJson, read_json

__all__ = ["FaultConfig", "FaultInjector", "FaultMiddleware", "fault_routes"]


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What to inject; `paths` limits it to path prefixes (empty = every REST path)."""

    latency_ms: int = 0
    response_delay_ms: int = 0
    error_rate: float = 0.0
    paths: tuple[str, ...] = ()
    throttle_burst: int = 0  # the next N REST requests get the vendor's 429
    latency_rate: float = 1.0  # the share of requests that get ``latency_ms`` (slow answers)

    def applies_to(self, path: str) -> bool:
        return not self.paths or any(path.startswith(p) for p in self.paths)

    @classmethod
    def from_json(cls, body: Any) -> FaultConfig:
        """Validate an admin request body; raise ValueError with a readable reason."""
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        latency = body.get("latency_ms", 0)
        delay = body.get("response_delay_ms", 0)
        rate = body.get("error_rate", 0.0)
        paths = body.get("paths") or []
        burst = body.get("throttle_burst", 0)
        latency_rate = body.get("latency_rate", 1.0)
        if not isinstance(latency, int) or latency < 0:
            raise ValueError("latency_ms must be a non-negative integer")
        if not isinstance(delay, int) or delay < 0:
            raise ValueError("response_delay_ms must be a non-negative integer")
        if not isinstance(rate, int | float) or not 0.0 <= float(rate) <= 1.0:
            raise ValueError("error_rate must be a number between 0 and 1")
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValueError("paths must be a list of path prefixes")
        if not isinstance(burst, int) or isinstance(burst, bool) or burst < 0:
            raise ValueError("throttle_burst must be a non-negative integer")
        if not isinstance(latency_rate, int | float) or not 0.0 <= float(latency_rate) <= 1.0:
            raise ValueError("latency_rate must be a number between 0 and 1")
        return cls(latency, delay, float(rate), tuple(paths), burst, float(latency_rate))

    def as_json(self) -> dict[str, object]:
        return {
            "latency_ms": self.latency_ms,
            "response_delay_ms": self.response_delay_ms,
            "error_rate": self.error_rate,
            "paths": list(self.paths),
            "throttle_burst": self.throttle_burst,
            "latency_rate": self.latency_rate,
        }


class FaultInjector:
    """Holds the active faults; one seeded RNG so a seeded run fails the same calls."""

    def __init__(self, seed: int | None) -> None:
        self.config = FaultConfig()
        self._seed = seed
        self._rng = random.Random(seed)
        self.throttle_left = 0
        # What was injected since start (never reset): a chaos run reports them.
        self.injected = {"unavailable": 0, "throttled": 0, "slowed": 0}

    def set(self, config: FaultConfig) -> None:
        self.config = config
        self.throttle_left = config.throttle_burst
        # Re-seed so "PUT faults, run scenario" is reproducible whatever ran before.
        self._rng = random.Random(self._seed)

    def clear(self) -> None:
        self.set(FaultConfig())

    def should_throttle(self) -> bool:
        if self.throttle_left <= 0:
            return False
        self.throttle_left -= 1
        self.injected["throttled"] += 1
        return True

    def should_fail(self) -> bool:
        rate = self.config.error_rate
        failed = rate > 0 and self._rng.random() < rate
        self.injected["unavailable"] += failed
        return failed

    def should_slow(self) -> bool:
        config = self.config
        if not config.latency_ms:
            return False
        slow = config.latency_rate >= 1.0 or self._rng.random() < config.latency_rate
        self.injected["slowed"] += slow
        return slow


class FaultMiddleware:
    """Applies the injector's faults to REST paths (never to /_sim or /health)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        injector: FaultInjector,
        error_body: bytes,
        throttled: Callable[[], tuple[bytes, list[tuple[bytes, bytes]]]],
    ) -> None:
        self.app = app
        self.injector = injector
        self.error_body = error_body
        # The vendor's 429: body and headers (PagerDuty `ratelimit-*`, Jira `Retry-After` ...).
        self.throttled = throttled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = self.injector.config
        if (
            scope["type"] != "http"
            or is_admin_path(scope["path"])
            or not config.applies_to(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        if self.injector.should_slow():
            await asyncio.sleep(config.latency_ms / 1000)
        if self.injector.should_throttle():
            body, headers = self.throttled()
            await reply(send, 429, body, headers)
            return
        if self.injector.should_fail():
            await reply(send, 503, self.error_body)
            return
        if not config.response_delay_ms:
            await self.app(scope, receive, send)
            return
        delay = config.response_delay_ms / 1000

        async def delayed_send(message: Message) -> None:
            # The handler has finished its state change when it starts the response, so a
            # client that gives up now leaves the write done but unacknowledged.
            if message["type"] == "http.response.start":
                decided = scope_state(scope).get(ANSWER_DECIDED)
                if callable(decided):
                    decided(int(message["status"]))
                await asyncio.sleep(delay)
            await send(message)

        await self.app(scope, receive, delayed_send)


def fault_routes(injector: FaultInjector) -> list[Route]:
    """`GET|PUT|DELETE /_sim/faults`, identical on both simulators."""

    async def faults(request: Request) -> Response:
        if request.method == "PUT":
            try:
                injector.set(FaultConfig.from_json(await read_json(request)))
            except (MalformedJson, ValueError) as exc:
                return JsonResponse({"error": str(exc)}, status_code=400)
        elif request.method == "DELETE":
            injector.clear()
        return JsonResponse(
            {
                "faults": injector.config.as_json(),
                "throttle_left": injector.throttle_left,
                "injected": dict(injector.injected),
            }
        )

    return [Route("/_sim/faults", faults, methods=["GET", "PUT", "DELETE"])]
