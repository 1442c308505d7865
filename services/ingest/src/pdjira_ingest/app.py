"""The ingest HTTP app: webhook endpoints, /health and /metrics.

A webhook is answered 202 only after JetStream acknowledged storing it (PubAck); if NATS cannot
store it in time we answer 503 so the vendor retries, and the ``Nats-Msg-Id`` makes that retry a
duplicate rather than a second event.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from faststream.nats import NatsBroker
from nats.errors import MaxPayloadError
from pdjira_common import streams
from pdjira_common.bus import nats_client, publish
from pdjira_common.config import Config
from pdjira_common.contracts import IncidentEvent, IssueEvent, encode
from pdjira_common.health import readiness
from pdjira_common.logging import get_logger
from pdjira_common.service import connect_and_declare
from pdjira_common.streams import Topology
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pdjira_ingest.fields import WebhookRejected
from pdjira_ingest.intake import (
    HUB_SIGNATURE_HEADER,
    JIRA_TOKEN_PARAMETER,
    PAGERDUTY_SIGNATURE_HEADER,
    accept_jira,
    accept_pagerduty,
    destination,
)
from pdjira_ingest.metrics import IngestMetrics
from pdjira_ingest.normalize import Ignored
from pdjira_ingest.reconcile.poller import Reconciler

__all__ = ["ENVELOPE_HEADROOM", "MAX_BODY_BYTES", "body_limit", "create_app"]

# PagerDuty drops anything above 256 KB; Jira bodies carry every field of the issue, so allow more.
# The broker's max_payload (1 MiB by default) lowers it at start: see body_limit.
MAX_BODY_BYTES = 2 * 1024 * 1024
# What a stored event needs beyond its JSON: the headers (Nats-Msg-Id, correlation id...) and the
# subject, which nats-server counts against max_payload too.
ENVELOPE_HEADROOM = 16 * 1024
_log = get_logger("pdjira_ingest")

# accept_pagerduty / accept_jira: (request, target id, raw body) -> event
Accept = Callable[[Request, str, bytes], IncidentEvent | IssueEvent | Ignored]


def body_limit(configured: int, max_payload: int) -> int:
    """The largest body ingest reads: ``configured``, but never so large that a body could not be
    stored (a 503 "retry later" for an event the broker can never take would be retried forever)."""
    return max(0, min(configured, max_payload - ENVELOPE_HEADROOM))


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body (signatures are over the exact bytes), refused past ``limit``."""
    too_large = WebhookRejected(
        413, "body_too_large", f"the body is over {limit} bytes, the most ingest accepts"
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class _Webhooks:
    """The two webhook endpoints; everything they decide is in intake (pure)."""

    def __init__(
        self,
        config: Config,
        broker: NatsBroker,
        metrics: IngestMetrics,
        *,
        publish_timeout: float,
        max_body_bytes: int,
    ) -> None:
        self.config = config
        self.broker = broker
        self.metrics = metrics
        self.publish_timeout = publish_timeout
        self.max_body_bytes = max_body_bytes
        # The broker's limit on one message (headers included); set once connected.
        self.max_payload: int | None = None

    def limit_to(self, max_payload: int) -> None:
        self.max_payload = max_payload
        self.max_body_bytes = body_limit(self.max_body_bytes, max_payload)

    def _accept_pagerduty(
        self, request: Request, target: str, body: bytes
    ) -> IncidentEvent | Ignored:
        return accept_pagerduty(
            self.config, target, body, request.headers.get(PAGERDUTY_SIGNATURE_HEADER)
        )

    def _accept_jira(self, request: Request, target: str, body: bytes) -> IssueEvent | Ignored:
        return accept_jira(
            self.config,
            target,
            body,
            request.headers.get(HUB_SIGNATURE_HEADER),
            token=request.query_params.get(JIRA_TOKEN_PARAMETER),
        )

    async def pagerduty(self, request: Request) -> Response:
        return await self._receive(
            request, "pagerduty", request.path_params["account"], self._accept_pagerduty
        )

    async def jira(self, request: Request) -> Response:
        return await self._receive(
            request, "jira", request.path_params["instance"], self._accept_jira
        )

    async def _receive(
        self, request: Request, source: str, target: str, accept: Accept
    ) -> Response:
        # The URL's query (a Jira webhook_token) and the body are never logged.
        log = _log.bind(source=source, target=target[:64])
        try:
            body = await _read_body(request, self.max_body_bytes)
            event = accept(request, target, body)
            payload = b"" if isinstance(event, Ignored) else self._encoded(event)
        except WebhookRejected as exc:
            # The body is never logged: it can be large and holds customer data.
            log.warning("webhook_rejected", status=exc.status, code=exc.code, reason=exc.message)
            self.metrics.count(source, "rejected", exc.code)
            return _error(exc.status, exc.code, exc.message)
        except ClientDisconnect:
            self.metrics.count(source, "rejected", "client_disconnected")
            return _error(400, "client_disconnected", "the client went away before the body")
        if isinstance(event, Ignored):
            log.info("webhook_ignored", event_type=event.event_type, reason=event.reason)
            self.metrics.count(source, "ignored", "event_type_not_synced")
            return JSONResponse({"status": "ignored", "reason": event.reason}, 202)
        return await self._store(event, payload, source, log)

    def _encoded(self, event: IncidentEvent | IssueEvent) -> bytes:
        """The event's JSON, as stored; refused (413) if the broker could never store it: the
        body fitted, but what ingest made of it need not (e.g. many tiny custom field values)."""
        encoded = encode(event)
        if self.max_payload is not None and len(encoded) + ENVELOPE_HEADROOM > self.max_payload:
            raise WebhookRejected(
                413,
                "event_too_large",
                f"the event made of this webhook is {len(encoded)} bytes, more than the "
                f"{self.max_payload - ENVELOPE_HEADROOM} the message bus can store",
            )
        return encoded

    async def _store(
        self, event: IncidentEvent | IssueEvent, payload: bytes, source: str, log: Any
    ) -> Response:
        where = destination(event)
        with structlog.contextvars.bound_contextvars(correlation_id=event.correlation_id):
            started = time.perf_counter()
            try:
                ack = await publish(
                    self.broker,
                    payload,
                    where.subject,
                    stream=streams.EVENTS,
                    msg_id=where.msg_id,
                    correlation_id=event.correlation_id,
                    timeout=self.publish_timeout,
                )
            except MaxPayloadError:  # _encoded missed it (headers?): retrying cannot help
                log.warning("webhook_rejected", status=413, code="event_too_large")
                self.metrics.count(source, "rejected", "event_too_large")
                return _error(
                    413, "event_too_large", "the event is larger than the message bus can store"
                )
            except Exception as exc:  # any failure to store: the vendor must retry
                log.error("webhook_store_failed", error=type(exc).__name__, subject=where.subject)
                self.metrics.count(source, "failed", "nats_unavailable")
                return _error(
                    503,
                    "unavailable",
                    f"the event could not be stored ({type(exc).__name__}); retry later",
                    headers={"Retry-After": "5"},
                )
            self.metrics.observe_store(source, time.perf_counter() - started)
            outcome = "duplicate" if ack.duplicate else "accepted"
            self.metrics.count(source, outcome, "already_stored" if ack.duplicate else "stored")
            log.info(
                "webhook_" + outcome,
                event_type=_event_type(event),
                subject=where.subject,
                seq=ack.seq,
            )
        return JSONResponse(
            {"status": "accepted", "event_id": event.event_id, "duplicate": bool(ack.duplicate)},
            202,
        )


def _event_type(event: IncidentEvent | IssueEvent) -> str:
    return event.event_type if isinstance(event, IncidentEvent) else event.webhook_event


def create_app(
    config: Config,
    broker: NatsBroker,
    *,
    topology: Topology | None = None,
    metrics: IngestMetrics | None = None,
    publish_timeout: float = 3.0,
    max_body_bytes: int = MAX_BODY_BYTES,
    reconciler: Reconciler | None = None,
) -> Starlette:
    """The ingest app; its lifespan connects ``broker``, declares the topology and, when
    ``reconcile.enabled``, runs the reconciliation poller (``reconciler``, or one made here)."""
    metrics = metrics or IngestMetrics()
    if reconciler is None and config.reconcile.enabled:
        reconciler = Reconciler(config, broker, metrics)
    # PagerDuty wants a 2xx within 5 s; store or give up (503) well before that.
    webhooks = _Webhooks(
        config, broker, metrics, publish_timeout=publish_timeout, max_body_bytes=max_body_bytes
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        for instance in config.jira_instances:
            if instance.webhook_secret is None:
                # Allowed (Jira Server cannot sign), but the token travels in every URL.
                _log.info(
                    "jira_webhooks_by_url_token",
                    instance=instance.id,
                    hint="set jira_instances[].webhook_secret too if the Jira can sign webhooks",
                )
        await connect_and_declare(broker, topology or Topology(replicas=config.nats.replicas))
        webhooks.limit_to(nats_client(broker).max_payload)
        _log.info(
            "ingest_body_limit",
            max_body_bytes=webhooks.max_body_bytes,
            max_payload=webhooks.max_payload,
        )
        if reconciler is not None:
            await reconciler.start()
        _log.info("ingest_started")
        try:
            yield
        finally:
            if reconciler is not None:
                await reconciler.stop()
            try:
                await broker.stop()
            except Exception as exc:  # NATS already gone (e.g. reconnecting): nothing to flush
                _log.warning("broker_stop_failed", error=type(exc).__name__)

    async def health(_: Request) -> Response:
        # The shape of every service's /health (pdjira_common.health); the lifespan (connect,
        # topology) is done before any request is served.
        status, body = await readiness("ingest", broker)
        return JSONResponse(body, status, headers={"cache-control": "no-store"})

    async def metrics_endpoint(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app = Starlette(
        routes=[
            Route("/webhooks/pagerduty/{account}", webhooks.pagerduty, methods=["POST"]),
            Route("/webhooks/jira/{instance}", webhooks.jira, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.reconciler = reconciler
    app.state.webhooks = webhooks
    return app
