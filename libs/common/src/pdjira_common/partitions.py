"""Partitions of the entity-keyed streams, and which replica consumes which: pure decisions.

The EVENTS and COMMANDS streams store each message under a subject that carries a partition
number the server computed from the entity (a stream subject transform, :func:`transform`):
``commands.jira.dc1.INC1`` is stored as ``commands.jira.5.dc1.INC1``, the same entity always
in the same partition. Each partition has one durable consumer per consuming service
(``jira-writer-p5``, filter ``commands.jira.5.*.*``), and one replica at a time consumes it
(``partition_lanes``): order per entity holds across replicas. Messages stored before the
transform existed keep their four-token subject; the service's original durable (``rules``,
``jira-writer``) is narrowed to those (``legacy`` unit) and drained like a partition.

Units are handed to replicas by :func:`assign`: the live replicas sorted by id, unit ``i`` to
replica ``i mod n``. Balanced (each replica gets ``units/n`` give or take one), and every replica
computes the same answer from the same member list.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from nats.js.api import SubjectTransform

from pdjira_common import subjects

__all__ = [
    "DEFAULT_LEASE_TTL",
    "DEFAULT_PARTITIONS",
    "MAX_PARTITIONS",
    "Unit",
    "assign",
    "entity_tokens",
    "replica_id",
    "transform",
    "units",
]

MAX_PARTITIONS = 256  # consumers per service: each is a durable and a pull request
# The defaults of ``nats.partitions`` and ``nats.partition_lease_ttl`` (config and topology).
DEFAULT_PARTITIONS = 8
DEFAULT_LEASE_TTL = 15.0


@dataclass(frozen=True, order=True)
class Unit:
    """One durable consumer a replica takes whole: ``durable`` reading ``filter``."""

    durable: str
    filter: str


def transform(root: str, partitions: int) -> SubjectTransform:
    """``<root>.<system>.<target>.<entity>`` -> ``<root>.<system>.<n>.<target>.<entity>``, ``n``
    the partition of ``<target>.<entity>`` (the server's deterministic hash, 0..partitions-1).
    A subject that already has five tokens (a DLQ replay of a stored message) stays as it is."""
    return SubjectTransform(
        src=f"{root}.*.*.*",
        dest=(
            f"{root}.{{{{wildcard(1)}}}}.{{{{partition({partitions},2,3)}}}}"
            ".{{wildcard(2)}}.{{wildcard(3)}}"
        ),
    )


def units(durable: str, subject: str, partitions: int) -> list[Unit]:
    """The units of a service reading ``subject`` (``events.>`` for rules, ``commands.jira.>``
    for the jira-writer): the legacy durable first, then one per partition."""
    root = subject.removesuffix(".>")
    prefix = root if "." in root else f"{root}.*"  # the system token: fixed, or any
    legacy = Unit(durable, f"{prefix}.*.*")
    return [legacy, *(Unit(f"{durable}-p{n}", f"{prefix}.{n}.*.*") for n in range(partitions))]


def assign(members: Sequence[str], all_units: Sequence[Unit], me: str) -> list[Unit]:
    """The units ``me`` should consume when ``members`` are the live replicas."""
    ordered = sorted(set(members))
    if me not in ordered:
        return []
    mine = ordered.index(me)
    return [unit for i, unit in enumerate(all_units) if i % len(ordered) == mine]


def entity_tokens(subject: str) -> list[str]:
    """The tokens naming the entity: after ``<root>.<system>.`` and the partition if any."""
    tokens = subject.split(".")
    return tokens[3:] if len(tokens) == 5 else tokens[2:]


def replica_id() -> str:
    """This process's identity among replicas: ``PDJIRA_REPLICA_ID``, else host and pid (in
    Kubernetes the host name is the pod's: unique)."""
    chosen = os.environ.get("PDJIRA_REPLICA_ID") or f"{socket.gethostname()}-{os.getpid()}"
    return subjects.token(chosen)
