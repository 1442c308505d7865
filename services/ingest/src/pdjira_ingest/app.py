"""The ingest HTTP app: webhook endpoints, /health and /metrics.

A webhook is answered 202 only after JetStream acknowledged storing it (PubAck); if NATS cannot
store it in time we answer 503 so the vendor retries, and the ``Nats-Msg-Id`` makes that retry a
duplicate rather than a second event.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from faststream.nats import NatsBroker
from nats.errors import MaxPayloadError
from pdjira_common import streams
from pdjira_common.bus import CORRELATION_HEADER, MSG_ID_HEADER, nats_client
from pdjira_common.config import Config
from pdjira_common.contracts import IncidentEvent, IssueEvent, encode
from pdjira_common.health import readiness
from pdjira_common.logging import get_logger
from pdjira_common.service import connect_and_declare
from pdjira_common.streams import KV_WEBHOOKS, Topology
from pdjira_common.subjects import msg_id as bounded_msg_id
from pdjira_common.webhook_admin import PingReceived, pd_ping_subject
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

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
from pdjira_ingest.store import AckedPublisher
from pdjira_ingest.webhook_check.admin import webhook_admin_routes
from pdjira_ingest.webhook_check.kv import WebhookState

__all__ = ["ENVELOPE_HEADROOM", "MAX_BODY_BYTES", "body_limit", "create_app", "stored_headers"]

# PagerDuty drops anything above 256 KB; Jira bodies carry every field of the issue, so allow more.
# The broker's max_payload (1 MiB by default) lowers it at start: see body_limit.
MAX_BODY_BYTES = 2 * 1024 * 1024
# What a stored event needs beyond its JSON: the headers (Nats-Msg-Id, correlation id...) and the
# subject, which nats-server counts against max_payload too.
ENVELOPE_HEADROOM = 16 * 1024
_log = get_logger("pdjira_ingest")


class _Logger:
    """The module's logger for the webhook path, bound once per structlog configuration.

    ``get_logger`` gives a lazy proxy that binds a new logger (its logger factory called
    included) at every call, so that a reconfiguration (tests do) always applies: microseconds
    per webhook. This binds again only when the configuration has changed."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._configured: tuple[Any, ...] = ()
        self._logger: Any = None

    def __call__(self) -> Any:
        config = structlog.get_config()
        configured = (
            config["wrapper_class"],
            config["logger_factory"],
            config["processors"],
            config["context_class"],
        )
        if self._logger is None or configured != self._configured:
            self._logger = get_logger(self._name).bind()
            self._configured = configured
        return self._logger


_webhook_log = _Logger("pdjira_ingest")

PAGERDUTY_PATH = "/webhooks/pagerduty/"
JIRA_PATH = "/webhooks/jira/"
_PD_SIGNATURE = PAGERDUTY_SIGNATURE_HEADER.lower().encode("latin-1")
# PagerDuty's id of the subscription a delivery is for (matches a ping to the check's).
SUBSCRIPTION_HEADER = "X-Webhook-Subscription"
_PD_SUBSCRIPTION = SUBSCRIPTION_HEADER.lower().encode("latin-1")
PING_EVENT = "pagey.ping"
_HUB_SIGNATURE = HUB_SIGNATURE_HEADER.lower().encode("latin-1")
_CONTENT_LENGTH = b"content-length"

# (target id, raw body) -> event: accept_pagerduty / accept_jira with the request's signature
Accept = Callable[[str, bytes], IncidentEvent | IssueEvent | Ignored]


def body_limit(configured: int, max_payload: int) -> int:
    """The largest body ingest reads: ``configured``, but never so large that a body could not be
    stored (a 503 "retry later" for an event the broker can never take would be retried forever)."""
    return max(0, min(configured, max_payload - ENVELOPE_HEADROOM))


def stored_headers(msg_id: str, correlation_id: str) -> dict[str, str]:
    """The headers of a stored event: those ``pdjira_common.bus.publish`` sends through FastStream
    (FastStream's ``content-type`` and ``correlation_id``, then ours), in the same order;
    nats-py adds ``Nats-Expected-Stream``."""
    return {
        "content-type": "application/json",
        "correlation_id": correlation_id,
        MSG_ID_HEADER: bounded_msg_id(msg_id),
        CORRELATION_HEADER: correlation_id,
    }


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


class _Accepted(Response):
    """What JSONResponse({"status": "accepted", ...}, 202) answers, made for less: msgspec writes
    the same compact JSON as its json.dumps, and the headers are the same two (content-length,
    content-type: application/json)."""

    def __init__(self, event_id: str, duplicate: bool) -> None:
        self.status_code = 202
        self.background = None
        self.body = msgspec.json.encode(
            {"status": "accepted", "event_id": event_id, "duplicate": duplicate}
        )
        self.raw_headers = [
            (b"content-length", str(len(self.body)).encode("latin-1")),
            (b"content-type", b"application/json"),
        ]


def _header(scope: Scope, name: bytes) -> str | None:
    """The first header ``name`` (lower case) of the request, as Starlette's Headers.get."""
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


def _too_large(limit: int) -> WebhookRejected:
    return WebhookRejected(
        413, "body_too_large", f"the body is over {limit} bytes, the most ingest accepts"
    )


async def _read_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The raw body (signatures are over the exact bytes), refused past ``limit``; read as
    Starlette's Request.stream() reads it (ClientDisconnect if the client goes away)."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


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
        # Stores the events; started on the broker's client once connected.
        self.publisher = AckedPublisher()
        # Secrets of the subscriptions the webhook check made; the last webhook per target.
        self.state = WebhookState()

    def limit_to(self, max_payload: int) -> None:
        self.max_payload = max_payload
        self.max_body_bytes = body_limit(self.max_body_bytes, max_payload)

    # The Starlette endpoints (requests the app's fast path leaves to the router).
    async def pagerduty(self, request: Request) -> Response:
        return await self.receive_pagerduty(
            request.path_params["account"],
            request.headers.get(PAGERDUTY_SIGNATURE_HEADER),
            request.headers.get("content-length"),
            request.receive,
            subscription=request.headers.get(SUBSCRIPTION_HEADER),
        )

    async def jira(self, request: Request) -> Response:
        return await self.receive_jira(
            request.path_params["instance"],
            request.headers.get(HUB_SIGNATURE_HEADER),
            request.query_params.get(JIRA_TOKEN_PARAMETER),
            request.headers.get("content-length"),
            request.receive,
        )

    async def receive_pagerduty(
        self,
        account: str,
        signature: str | None,
        declared: str | None,
        receive: Receive,
        *,
        subscription: str | None = None,
    ) -> Response:
        def accept(target: str, body: bytes) -> IncidentEvent | Ignored:
            return accept_pagerduty(
                self.config, target, body, signature, extra_secrets=self.state.secrets(target)
            )

        async def ignored(event: Ignored) -> None:
            if event.event_type == PING_EVENT:
                await self._announce_ping(account, subscription)

        return await self._receive(
            "pagerduty",
            account,
            declared,
            receive,
            accept,
            refresh=lambda: self.state.refresh(account),
            on_ignored=ignored,
        )

    async def _announce_ping(self, account: str, subscription: str | None) -> None:
        """A signed ``pagey.ping`` came: tell whoever waits for it (the webhook check, maybe on
        another replica). Never stored as an event."""
        ping = PingReceived(
            account=account,
            subscription_id=subscription[:64] if subscription else None,
            received_at=datetime.now(UTC).isoformat(),
            replica=self.state.replica,
        )
        try:
            await nats_client(self.broker).publish(pd_ping_subject(account), encode(ping))
        except Exception as exc:  # the ping is answered 202 anyway; the check times out
            _webhook_log().warning("ping_not_announced", account=account, error=type(exc).__name__)

    async def receive_jira(
        self,
        instance: str,
        signature: str | None,
        token: str | None,
        declared: str | None,
        receive: Receive,
    ) -> Response:
        def accept(target: str, body: bytes) -> IssueEvent | Ignored:
            return accept_jira(self.config, target, body, signature, token=token)

        return await self._receive("jira", instance, declared, receive, accept)

    async def _receive(
        self,
        source: str,
        target: str,
        declared: str | None,
        receive: Receive,
        accept: Accept,
        *,
        refresh: Callable[[], Awaitable[bool]] | None = None,
        on_ignored: Callable[[Ignored], Awaitable[None]] | None = None,
    ) -> Response:
        # The URL's query (a Jira webhook_token) and the body are never logged.
        try:
            body = await _read_body(receive, declared, self.max_body_bytes)
            try:
                event = accept(target, body)
            except WebhookRejected as exc:
                # Signed with a secret another replica's webhook check has just stored?
                if exc.code != "invalid_signature" or refresh is None or not await refresh():
                    raise
                event = accept(target, body)
            payload = b"" if isinstance(event, Ignored) else self._encoded(event)
        except WebhookRejected as exc:
            # The body is never logged: it can be large and holds customer data.
            _webhook_log().warning(
                "webhook_rejected",
                source=source,
                target=target[:64],
                status=exc.status,
                code=exc.code,
                reason=exc.message,
            )
            self.metrics.count(source, "rejected", exc.code)
            return _error(exc.status, exc.code, exc.message)
        except ClientDisconnect:
            self.metrics.count(source, "rejected", "client_disconnected")
            return _error(400, "client_disconnected", "the client went away before the body")
        if isinstance(event, Ignored):
            _webhook_log().info(
                "webhook_ignored",
                source=source,
                target=target[:64],
                event_type=event.event_type,
                reason=event.reason,
            )
            self.metrics.count(source, "ignored", "event_type_not_synced")
            self.state.saw("pd" if source == "pagerduty" else "jira", target)
            if on_ignored is not None:
                await on_ignored(event)
            return JSONResponse({"status": "ignored", "reason": event.reason}, 202)
        return await self._store(event, payload, source, target)

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
        self, event: IncidentEvent | IssueEvent, payload: bytes, source: str, target: str
    ) -> Response:
        where = destination(event)
        correlation_id = event.correlation_id
        started = time.perf_counter()
        try:
            # What pdjira_common.bus.publish stores (its headers: stored_headers), without
            # FastStream's layers, nor nats-py's per-request costs (see store), per webhook.
            ack = await self.publisher.publish(
                where.subject,
                payload,
                stream=streams.EVENTS,
                headers=stored_headers(where.msg_id, correlation_id),
                timeout=self.publish_timeout,
            )
        except MaxPayloadError:  # _encoded missed it (headers?): retrying cannot help
            _webhook_log().warning(
                "webhook_rejected",
                source=source,
                target=target[:64],
                correlation_id=correlation_id,
                status=413,
                code="event_too_large",
            )
            self.metrics.count(source, "rejected", "event_too_large")
            return _error(
                413, "event_too_large", "the event is larger than the message bus can store"
            )
        except Exception as exc:  # any failure to store: the vendor must retry
            _webhook_log().error(
                "webhook_store_failed",
                source=source,
                target=target[:64],
                correlation_id=correlation_id,
                error=type(exc).__name__,
                subject=where.subject,
            )
            self.metrics.count(source, "failed", "nats_unavailable")
            return _error(
                503,
                "unavailable",
                f"the event could not be stored ({type(exc).__name__}); retry later",
                headers={"Retry-After": "5"},
            )
        self.metrics.observe_store(source, time.perf_counter() - started)
        self.state.saw("pd" if source == "pagerduty" else "jira", target)
        # A redelivery (or the poller's copy) is worth a line; a new event is counted only (debug
        # has its line), as a line per webhook costs ingest a good part of its time.
        duplicate = bool(ack.duplicate)
        self.metrics.count(
            source, *(("duplicate", "already_stored") if duplicate else ("accepted", "stored"))
        )
        log = _webhook_log()
        (log.info if duplicate else log.debug)(
            "webhook_duplicate" if duplicate else "webhook_accepted",
            source=source,
            target=target[:64],
            correlation_id=correlation_id,
            event_type=_event_type(event),
            subject=where.subject,
            seq=ack.seq,
        )
        return _Accepted(event.event_id, bool(ack.duplicate))


def _event_type(event: IncidentEvent | IssueEvent) -> str:
    return event.event_type if isinstance(event, IncidentEvent) else event.webhook_event


def _path_target(path: str, prefix: str) -> str | None:
    """The ``{account}``/``{instance}`` of ``prefix{id}`` as Starlette's router matches it
    (``[^/]+``), or None."""
    if not path.startswith(prefix):
        return None
    target = path[len(prefix) :]
    return target if target and "/" not in target else None


class _IngestApp(Starlette):
    """Starlette, with the webhook POSTs served straight from ``__call__``: the router and its
    middleware stack cost more per request than the rest of a webhook's handling. Answers are
    those of the routed endpoints; an unexpected error is a 500 "Internal Server Error" raised
    on, as Starlette's ServerErrorMiddleware does. Anything else (other methods and paths, a
    root_path) goes through Starlette."""

    webhooks: _Webhooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path: str = scope["path"]
            if (account := _path_target(path, PAGERDUTY_PATH)) is not None:
                await self._serve(
                    self.webhooks.receive_pagerduty(
                        account,
                        _header(scope, _PD_SIGNATURE),
                        _header(scope, _CONTENT_LENGTH),
                        receive,
                        subscription=_header(scope, _PD_SUBSCRIPTION),
                    ),
                    scope,
                    receive,
                    send,
                )
                return
            if (instance := _path_target(path, JIRA_PATH)) is not None:
                await self._serve(
                    self.webhooks.receive_jira(
                        instance,
                        _header(scope, _HUB_SIGNATURE),
                        QueryParams(scope["query_string"]).get(JIRA_TOKEN_PARAMETER),
                        _header(scope, _CONTENT_LENGTH),
                        receive,
                    ),
                    scope,
                    receive,
                    send,
                )
                return
        await super().__call__(scope, receive, send)

    @staticmethod
    async def _serve(
        answer: Coroutine[Any, Any, Response], scope: Scope, receive: Receive, send: Send
    ) -> None:
        try:
            response = await answer
        except Exception:
            # Nothing was sent yet: ServerErrorMiddleware's answer. (Once the response starts,
            # a failure is the send's own: it too only raises it on.)
            await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
            raise
        await response(scope, receive, send)


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
        await connect_and_declare(broker, topology or Topology.of(config.nats))
        webhooks.limit_to(nats_client(broker).max_payload)
        await webhooks.publisher.start(nats_client(broker))
        try:
            await webhooks.state.start(await nats_client(broker).jetstream().key_value(KV_WEBHOOKS))
        except Exception as exc:  # webhooks still work with the configured secrets
            _log.warning("webhook_state_unavailable", error=type(exc).__name__)
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
            await webhooks.state.stop()
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

    app = _IngestApp(
        routes=[
            Route("/webhooks/pagerduty/{account}", webhooks.pagerduty, methods=["POST"]),
            Route("/webhooks/jira/{instance}", webhooks.jira, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            *webhook_admin_routes(config, broker, webhooks.state),
        ],
        lifespan=lifespan,
    )
    app.webhooks = webhooks
    app.state.reconciler = reconciler
    app.state.webhooks = webhooks
    return app
