"""Webhook chaos: drop, duplicate, reorder and delay deliveries, reproducibly under a seed.

Applied when a webhook is queued, before any HTTP attempt, so it models what the vendor's
delivery pipeline does to events (not what the network does to one request).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_simulators.common.jsonresp import JsonResponse, MalformedJson, read_json

__all__ = ["WebhookFaultConfig", "WebhookFaultInjector", "webhook_fault_routes"]

T = TypeVar("T")


def _rate(body: dict[str, Any], name: str) -> float:
    value = body.get(name, 0.0)
    if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be a number between 0 and 1")
    return float(value)


@dataclass(frozen=True, slots=True)
class WebhookFaultConfig:
    """Probabilities per webhook; `delay_ms` is the upper bound of a random extra delay."""

    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    delay_ms: int = 0
    delay_rate: float = 1.0  # the share of webhooks delayed (by up to ``delay_ms``)

    @classmethod
    def from_json(cls, body: Any) -> WebhookFaultConfig:
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        delay = body.get("delay_ms", 0)
        if not isinstance(delay, int) or delay < 0:
            raise ValueError("delay_ms must be a non-negative integer")
        return cls(
            _rate(body, "drop_rate"),
            _rate(body, "duplicate_rate"),
            _rate(body, "reorder_rate"),
            delay,
            _rate({"delay_rate": 1.0, **body}, "delay_rate"),
        )

    def as_json(self) -> dict[str, object]:
        return {
            "drop_rate": self.drop_rate,
            "duplicate_rate": self.duplicate_rate,
            "reorder_rate": self.reorder_rate,
            "delay_ms": self.delay_ms,
            "delay_rate": self.delay_rate,
        }


class WebhookFaultInjector(Generic[T]):
    """Turns one queued webhook into zero, one or two, possibly swapped with the next one."""

    def __init__(self, seed: int | None) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        # Delays are drawn by the delivery worker, at times that depend on the network; a
        # separate RNG keeps drop/duplicate/reorder decisions independent of that timing.
        self._delay_rng = random.Random(seed)
        self.config = WebhookFaultConfig()
        self._held: dict[str, T] = {}
        self.dropped: list[T] = []
        # What was injected since start (never reset): a chaos run reports them.
        self.injected = {"dropped": 0, "duplicated": 0, "reordered": 0, "delayed": 0}

    def set(self, config: WebhookFaultConfig) -> None:
        self.config = config
        self._rng = random.Random(self._seed)
        self._delay_rng = random.Random(self._seed)

    @property
    def held(self) -> int:
        """Webhooks kept back for reordering, waiting for a later one to overtake them."""
        return len(self._held)

    def clear(self) -> list[T]:
        """Stop injecting; returns webhooks held back for reordering so they can still go."""
        self.config = WebhookFaultConfig()
        held = list(self._held.values())
        self._held.clear()
        return held

    def plan(self, group: str, item: T) -> list[T]:
        """What to queue for `item`; `group` is the unit whose order the vendor promises."""
        cfg = self.config
        if cfg == WebhookFaultConfig() and not self._held:
            return [item]
        if cfg.drop_rate and self._rng.random() < cfg.drop_rate:
            self.dropped.append(item)
            self.injected["dropped"] += 1
            return []
        out = [item]
        if cfg.duplicate_rate and self._rng.random() < cfg.duplicate_rate:
            out.append(item)
            self.injected["duplicated"] += 1
        held = self._held.pop(group, None)
        if held is not None:
            return [*out, held]  # the held one now arrives after a later one
        if cfg.reorder_rate and self._rng.random() < cfg.reorder_rate:
            self._held[group] = item
            self.injected["reordered"] += 1
            return out[1:]
        return out

    def delay_seconds(self) -> float:
        cfg = self.config
        if not cfg.delay_ms:
            return 0.0
        if cfg.delay_rate < 1.0 and self._delay_rng.random() >= cfg.delay_rate:
            return 0.0
        self.injected["delayed"] += 1
        return self._delay_rng.uniform(0, cfg.delay_ms) / 1000


def webhook_fault_routes(
    injector: WebhookFaultInjector[T], release: Callable[[list[T]], None]
) -> list[Route]:
    """`GET|PUT|DELETE /_sim/webhook-faults`; DELETE releases webhooks held for reordering."""

    async def handler(request: Request) -> Response:
        if request.method == "PUT":
            try:
                injector.set(WebhookFaultConfig.from_json(await read_json(request)))
            except (MalformedJson, ValueError) as exc:
                return JsonResponse({"error": str(exc)}, status_code=400)
        elif request.method == "DELETE":
            release(injector.clear())
        return JsonResponse(
            {
                "webhook_faults": injector.config.as_json(),
                "dropped": len(injector.dropped),
                "injected": dict(injector.injected),
            }
        )

    return [Route("/_sim/webhook-faults", handler, methods=["GET", "PUT", "DELETE"])]
