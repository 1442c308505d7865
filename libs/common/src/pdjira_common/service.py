"""Running a service: its config from the command line, ASGI app with /health (readiness),
/live (liveness) and /metrics, topology at start, uvicorn."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, NamedTuple, NoReturn, TypeVar

import uvicorn
import uvloop
from faststream.asgi import AsgiFastStream
from faststream.nats import NatsBroker
from prometheus_client import CollectorRegistry, make_asgi_app

from pdjira_common.bus import jetstream
from pdjira_common.config import Config, ConfigError, HttpListen, load_config
from pdjira_common.health import (
    LIVENESS_PATH,
    READINESS_PATH,
    Liveness,
    json_asgi,
    readiness,
)
from pdjira_common.logging import get_logger, standalone_logger
from pdjira_common.streams import Topology, ensure_topology

__all__ = [
    "ServiceArgs",
    "config_from_command_line",
    "connect_and_declare",
    "refuse_to_start",
    "run",
    "run_asgi",
    "service_app",
    "uvicorn_config",
]

T = TypeVar("T")


class ServiceArgs(NamedTuple):
    config: Config
    config_path: str


def config_from_command_line(
    argv: list[str] | None, *, prog: str, description: str, name: str
) -> ServiceArgs:
    """The config named by ``--config FILE`` (and that path); a file that cannot be used ends
    the process with status 2 and one JSON log line (``config_invalid``) saying what is wrong
    and where."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", required=True, help="path of the pdjira YAML config file")
    args = parser.parse_args(argv)
    try:
        return ServiceArgs(load_config(args.config), args.config)
    except ConfigError as exc:
        refuse_to_start(
            name,
            "config_invalid",
            error=str(exc),
            config=args.config,
            fix=f"correct the file; `pdjira config check {args.config}` checks it",
        )


def refuse_to_start(name: str, event: str, **why: Any) -> NoReturn:
    """End a service that cannot start with status 2, saying why in one JSON log line on
    stderr, like every other line it writes (``name``: ``pdjira_rules``, ``pdjira-mapping``...;
    logged as the service, ``rules``, ``mapping``...)."""
    service = name.removeprefix("pdjira").lstrip("_-").replace("_", "-") or name
    standalone_logger(service).error(event, **why)
    sys.stderr.flush()
    raise SystemExit(2)


async def connect_and_declare(broker: NatsBroker, topology: Topology) -> None:
    """Connect, then make sure every stream and bucket exists as declared in libs/common."""
    await broker.connect()
    await ensure_topology(jetstream(broker), topology)


def service_app(
    broker: NatsBroker,
    *,
    topology: Topology,
    registry: CollectorRegistry | None = None,
    after_startup: tuple[Any, ...] = (),
    on_shutdown: tuple[Any, ...] = (),
    name: str,
) -> AsgiFastStream:
    """A FastStream ASGI app: the broker's subscribers plus /health (readiness: connected to
    NATS and started), /live (liveness, see :mod:`pdjira_common.health`) and /metrics."""
    service = name
    started = False

    async def declare() -> None:
        await connect_and_declare(broker, topology)

    async def mark_started() -> None:
        nonlocal started
        started = True

    async def mark_stopping() -> None:
        nonlocal started
        started = False

    async def ready() -> tuple[int, dict[str, Any]]:
        return await readiness(service, broker, started=started)

    return AsgiFastStream(
        broker,
        asgi_routes=[
            (READINESS_PATH, json_asgi(ready)),
            (LIVENESS_PATH, json_asgi(Liveness(service, broker))),
            ("/metrics", make_asgi_app(registry or CollectorRegistry())),
        ],
        on_startup=[declare],
        after_startup=[*after_startup, mark_started],
        on_shutdown=[mark_stopping, *on_shutdown],
        # "FastStream app starting..." and the like as our JSON lines, not its coloured text.
        logger=get_logger("faststream"),
    )


# The fast implementations uvicorn can use (both are dependencies of pdjira-common): uvloop's
# event loop and the httptools HTTP/1.1 parser, in every service.
UVICORN_LOOP = "uvloop"
UVICORN_HTTP = "httptools"


def uvicorn_config(app: Any, listen: HttpListen) -> uvicorn.Config:
    """How every service serves HTTP: uvloop + httptools, no access log, lifespan on."""
    return uvicorn.Config(
        app,
        host=listen.host,
        port=listen.port,
        loop=UVICORN_LOOP,
        http=UVICORN_HTTP,
        log_config=None,
        access_log=False,
        lifespan="on",
    )


def run_asgi(app: Any, listen: HttpListen) -> None:
    """Serve ``app`` until SIGTERM/SIGINT (uvicorn handles both and shuts down gracefully),
    on a uvloop event loop."""
    run(uvicorn.Server(uvicorn_config(app, listen)).serve())


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a uvloop event loop: for entry points that run a coroutine."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
