"""Health: each service's /health, consumer lag per durable, DLQ depth, last webhook per
source (read-only: HTTP probes and NATS)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
from nats.js.errors import BucketNotFoundError, NoKeysError
from pdjira_common import streams
from pdjira_common.config import HttpListen
from pdjira_common.webhook_admin import WebhookSeen, seen_target
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_console.context import Console, NavEntry

__all__ = ["NAV", "ServiceHealth", "routes"]

NAV = NavEntry("Health", "/")
PROBE_TIMEOUT = 3.0
SYSTEMS = {"pd": "PagerDuty", "jira": "Jira"}


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    name: str
    url: str
    status: str  # ok, unavailable, unreachable...
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True, slots=True)
class ConsumerLag:
    stream: str
    durable: str
    pending: int
    ack_pending: int


@dataclass(frozen=True, slots=True)
class LastWebhook:
    source: str
    target: str
    at: str
    replica: str


def _url(listen: HttpListen) -> str:
    host = "127.0.0.1" if listen.host in ("0.0.0.0", "", "::") else listen.host
    return f"http://{host}:{listen.port}/health"


def services(console: Console) -> dict[str, str]:
    """Every service's name -> its /health URL (from ``listen.*``)."""
    listen = console.config.listen
    return {
        "ingest": _url(listen.ingest),
        "rules": _url(listen.rules),
        "jira-writer": _url(listen.jira_writer),
        "pd-writer": _url(listen.pd_writer),
        "mapping": _url(listen.mapping),
    }


async def probe(client: httpx.AsyncClient, name: str, url: str) -> ServiceHealth:
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        return ServiceHealth(name, url, "unreachable", {"error": type(exc).__name__})
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    status = str(body.get("status") or ("ok" if response.status_code == 200 else "unavailable"))
    found = body.get("checks")
    checks: dict[str, Any] = found if isinstance(found, dict) else {}
    return ServiceHealth(name, url, status, checks)


async def service_health(console: Console) -> list[ServiceHealth]:
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:
        return list(
            await asyncio.gather(*(probe(client, n, u) for n, u in services(console).items()))
        )


async def consumer_lag(console: Console) -> list[ConsumerLag]:
    js = console.js
    lags: list[ConsumerLag] = []
    for stream in streams.STREAMS:
        try:
            infos = await js.consumers_info(stream)
        except Exception:  # noqa: S112  # a stream not declared yet: nothing to show
            continue
        for info in infos:
            lags.append(
                ConsumerLag(
                    stream,
                    str(info.name),
                    int(info.num_pending or 0),
                    int(info.num_ack_pending or 0),
                )
            )
    return sorted(lags, key=lambda lag: (lag.stream, lag.durable))


async def dlq_depth(console: Console) -> int | None:
    try:
        info = await console.js.stream_info(streams.DLQ)
    except Exception:
        return None
    return int(info.state.messages)


async def last_webhooks(console: Console) -> list[LastWebhook]:
    try:
        kv = await console.js.key_value(streams.KV_WEBHOOKS)
        keys = await kv.keys()
    except (BucketNotFoundError, NoKeysError):
        return []
    found: list[LastWebhook] = []
    for key in keys:
        parsed = seen_target(key)
        if parsed is None:
            continue
        entry = await kv.get(key)
        try:
            seen = msgspec.json.decode(entry.value or b"", type=WebhookSeen)
        except msgspec.DecodeError:
            continue
        found.append(LastWebhook(SYSTEMS[parsed[0]], parsed[1], seen.at, seen.replica))
    return sorted(found, key=lambda w: (w.source, w.target))


def routes(console: Console) -> list[Route]:
    async def page(request: Request) -> Response:
        errors: list[str] = []
        health = await service_health(console)
        try:
            lags, depth, webhooks = await asyncio.gather(
                consumer_lag(console), dlq_depth(console), last_webhooks(console)
            )
        except Exception as exc:
            errors.append(f"NATS could not be read ({type(exc).__name__}): is nats.url right?")
            lags, depth, webhooks = [], None, []
        return console.render(
            request,
            "health.html",
            services=health,
            lags=lags,
            dlq_depth=depth,
            webhooks=webhooks,
            errors=errors,
        )

    return [Route("/", page, methods=["GET"])]
