"""``pdjira nats bootstrap``: declare every JetStream stream and KV bucket before the services
start (the Kubernetes bootstrap Job runs it).

The declaration is the one in ``pdjira_common.streams`` that every service also applies at its
start (:func:`~pdjira_common.streams.ensure_topology`): missing streams and buckets are created,
existing streams brought to the definition. Running it first means the streams exist with the
config's replica count (``nats.replicas``, e.g. 3 on a JetStream cluster) and partitions before
the first webhook arrives, and that a wrong NATS URL, login or replica count shows up in one Job
instead of in every pod.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from nats.js import JetStreamContext
from pdjira_common.config import ConfigError
from pdjira_common.streams import Topology, ensure_topology, kv_configs, stream_configs

from pdjira_cli.nats_access import add_nats_options, nats_settings, with_jetstream

__all__ = ["bootstrap", "register"]


def register(commands: Any) -> None:
    nats = commands.add_parser("nats", help="the JetStream streams and KV buckets pdjira uses")
    actions = nats.add_subparsers(dest="nats_command", required=True, metavar="ACTION")
    bootstrap_parser = actions.add_parser(
        "bootstrap",
        help="create (or update) every stream and KV bucket, as the config's nats section says",
    )
    add_nats_options(bootstrap_parser)
    bootstrap_parser.set_defaults(handler=_bootstrap)


async def bootstrap(js: JetStreamContext, topology: Topology) -> list[str]:
    """Declare everything; the names of what now exists (streams, then buckets)."""
    await ensure_topology(js, topology)
    return [
        *(f"stream {c.name}" for c in stream_configs(topology)),
        *(f"kv {c.bucket}" for c in kv_configs(topology)),
    ]


def _bootstrap(args: argparse.Namespace) -> int:
    try:
        settings = nats_settings(args)
        topology = Topology.of(settings)

        async def work(js: JetStreamContext) -> list[str]:
            return await bootstrap(js, topology)

        declared = asyncio.run(with_jetstream(settings, work))
    except ConfigError as exc:
        print(f"pdjira nats bootstrap: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the server refused a declaration (e.g. more replicas than nodes)
        print(
            f"pdjira nats bootstrap: NATS refused the declaration: {type(exc).__name__}: {exc}; "
            "check nats.replicas against the JetStream cluster's size (1 for a single server)",
            file=sys.stderr,
        )
        return 1
    for line in declared:
        print(line)
    print(
        f"declared {len(declared)} streams and buckets "
        f"(replicas {topology.replicas}, partitions {topology.partitions})"
    )
    return 0
