"""A writer service's wiring and entry point, the same for every vendor: the broker, one client
per configured target, the lanes that apply commands, the reads, the ASGI app (/health,
/metrics), and ``python -m <service> --config FILE``.

A vendor gives its :class:`WriterSpec`, how to make its clients from the config, and how to
wire its writer (and reads) on the broker; :class:`WriterServiceFactory` does the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from pdjira_common import streams
from pdjira_common.bus import jetstream, make_broker
from pdjira_common.config import Config, HttpListen
from pdjira_common.kv_records import bucket_opener
from pdjira_common.lanes import LaneDispatcher
from pdjira_common.logging import configure_logging
from pdjira_common.partition_lanes import PartitionedLanes
from pdjira_common.partitions import Unit, units
from pdjira_common.service import config_from_command_line, run_asgi, service_app
from pdjira_common.streams import KV_BUDGETS, Topology

from pdjira_writer.command_log import kv_command_log
from pdjira_writer.commands import Writer, make_command_handler
from pdjira_writer.metrics import WriterMetrics
from pdjira_writer.spec import WriterSpec
from pdjira_writer.vendor_http import HttpOptions

__all__ = ["Client", "WriterService", "WriterServiceFactory", "listener", "run"]


class Client(Protocol):
    """A vendor client: one per configured target, closed when the service stops."""

    async def aclose(self) -> None: ...


W = TypeVar("W", bound=Writer)
C = TypeVar("C", bound=Client)


@dataclass(frozen=True, slots=True)
class WriterService(Generic[W]):
    app: AsgiFastStream
    broker: NatsBroker
    writer: W
    metrics: WriterMetrics


class WriterServiceFactory(Generic[W, C]):
    """``create_service(config)``: everything the writer runs, not started (``app`` starts it).

    ``clients`` replaces the HTTP clients the config names (tests: other transports, clocks)."""

    def __init__(
        self,
        spec: WriterSpec,
        *,
        http_clients: Callable[[Config, HttpOptions], Mapping[str, C]],
        wire: Callable[[NatsBroker, Mapping[str, C]], W],
    ) -> None:
        self.spec = spec
        self._http_clients = http_clients
        self._wire = wire

    def __call__(
        self,
        config: Config,
        *,
        topology: Topology | None = None,
        clients: Mapping[str, C] | None = None,
    ) -> WriterService[W]:
        spec = self.spec
        broker = make_broker(config.nats, consumer=spec.name, retry=config.retry)
        metrics = WriterMetrics.create(spec)
        targets = (
            clients
            if clients is not None
            else self._http_clients(
                config,
                # The targets' budgets shared with the other replicas (KV opened on first use).
                HttpOptions.of(
                    config,
                    metrics.requests,
                    budgets=bucket_opener(broker, KV_BUDGETS),
                    vendor_metrics=metrics.vendor_calls,
                ),
            )
        )
        writer = self._wire(broker, targets)
        lanes: list[PartitionedLanes] = []
        gauges: list[asyncio.Task[None]] = []

        async def start_lanes() -> None:
            js = jetstream(broker)
            handler = make_command_handler(
                broker, writer, metrics, spec, command_log=kv_command_log(broker)
            )
            running = asyncio.Semaphore(config.writers.concurrency)  # shared by partitions

            def dispatcher(unit: Unit) -> LaneDispatcher:
                return LaneDispatcher(
                    js,
                    subject=unit.filter,
                    durable=unit.durable,
                    handler=handler,
                    retry=config.retry,
                    concurrency=config.writers.concurrency,
                    may_overtake=lambda msg: writer.creates_prerequisite(msg.data),
                    running=running,
                    owner=spec.name,
                    metrics=metrics.delivery,
                )

            partitioned = PartitionedLanes(
                js,
                group=spec.name,
                stream=streams.COMMANDS,
                units=units(spec.name, spec.commands, config.nats.partitions),
                dispatcher=dispatcher,
                ack_wait=config.retry.ack_wait,
            )
            await partitioned.start()
            lanes.append(partitioned)
            # The streams' backlog as gauges (DLQ depth, consumers' lag), read every 15 s.
            gauges.append(asyncio.create_task(metrics.streams.run(js)))

        async def stop_lanes() -> None:
            for task in gauges:
                task.cancel()
            gauges.clear()
            for partitioned in lanes:
                await partitioned.stop()
            lanes.clear()

        app = service_app(
            broker,
            name=spec.name,
            topology=topology or Topology.of(config.nats),
            registry=metrics.registry,
            after_startup=(start_lanes,),
            on_shutdown=(stop_lanes,),
        )

        @app.after_shutdown
        async def close_clients() -> None:
            # After the broker stopped (in-flight commands finished), not before.
            for client in targets.values():
                await client.aclose()

        return WriterService(app=app, broker=broker, writer=writer, metrics=metrics)


def listener(config: Config, spec: WriterSpec) -> HttpListen:
    """The service's ``listen:`` entry (``jira-writer`` listens at ``listen.jira_writer``)."""
    listen: HttpListen = getattr(config.listen, spec.name.replace("-", "_"))
    return listen


def run(
    factory: WriterServiceFactory[W, C],
    argv: list[str] | None = None,
    *,
    create: Callable[[Config], WriterService[W]] | None = None,
) -> None:
    """``python -m <service> --config FILE``: load the config, serve until SIGTERM/SIGINT.

    ``create`` builds the service instead of ``factory`` (a test's entry point wraps the
    clients); the name, the flags and the listener stay the factory's."""
    spec = factory.spec
    config = config_from_command_line(
        argv,
        prog=f"python -m {spec.module}",
        description=f"pdjira {spec.name}: applies {spec.commands} to {spec.vendor.name}",
        name=f"pdjira-{spec.name}",
    ).config
    configure_logging(spec.name, config.log_level)
    service = (create or factory)(config)
    run_asgi(service.app, listener(config, spec))
