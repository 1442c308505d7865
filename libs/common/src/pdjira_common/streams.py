"""The one declaration of every JetStream stream and KV bucket, and the code that applies it.

Services call :func:`ensure_topology` at start; it creates what is missing and updates what
differs, so every service applies the same, single definition (FastStream subscribers then use
``JStream(name, declare=False)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import BucketNotFoundError, NotFoundError

from pdjira_common.config import NatsSettings
from pdjira_common.partitions import DEFAULT_LEASE_TTL, DEFAULT_PARTITIONS, transform

__all__ = [
    "AUDIT",
    "COMMANDS",
    "DLQ",
    "DONE_TTL",
    "ECHO_MAX_TTL",
    "EVENTS",
    "KV_BUDGETS",
    "KV_DONE",
    "KV_ECHO",
    "KV_LEASES",
    "KV_LINKS",
    "KV_PAIRS",
    "KV_PARTITIONS",
    "KV_PENDING",
    "KV_RECONCILE",
    "KV_RULES",
    "KV_USERS",
    "KV_WEBHOOKS",
    "KV_WRITES",
    "LEASE_TTL",
    "OUTCOMES",
    "PARTITIONS",
    "PARTITION_LEASE_TTL",
    "PENDING_TTL",
    "STREAMS",
    "Topology",
    "ensure_topology",
]

DAY = 24 * 3600.0

EVENTS = "EVENTS"
COMMANDS = "COMMANDS"
OUTCOMES = "OUTCOMES"
AUDIT = "AUDIT"
DLQ = "DLQ"
KV_LINKS = "pdjira_links"
# Manual user links and the e-mail lookup cache (hits and misses, each with its time).
KV_USERS = "pdjira_users"
# Echo marks; each mark carries its own expiry, the bucket's max age is the ceiling for all.
KV_ECHO = "pdjira_echo"
ECHO_MAX_TTL = 3600.0
# Per link: note id <-> comment id pairs, and the last state we wrote on each side.
KV_PAIRS = "pdjira_pairs"
# The writers' own record of the last status write per entity (the cause time it applied).
KV_WRITES = "pdjira_writes"
# PagerDuty-style rules (key: rule id; value: the rule JSON); the rules service watches it.
KV_RULES = "pdjira_rules"
# Entities whose create command the rules service sent and whose link is not recorded yet:
# their early notes / comments / status changes wait for the link instead of being dropped.
KV_PENDING = "pdjira_pending"
PENDING_TTL = 7 * DAY
# Reconciliation watermarks, one key per PagerDuty account / Jira instance.
KV_RECONCILE = "pdjira_reconcile"
# Leases (one active poller per target among replicas): a holder renews before the TTL ends.
KV_LEASES = "pdjira_leases"
LEASE_TTL = 30.0
# Commands a writer has started / finished (by command id), so a redelivery never runs twice.
KV_DONE = "pdjira_done"
DONE_TTL = 2 * 3600.0
# Partitioned consumption (``partition_lanes``): replicas' member keys and partition leases;
# the bucket's TTL is the lease time (how long a killed replica's partitions wait).
KV_PARTITIONS = "pdjira_partitions"
PARTITION_LEASE_TTL = DEFAULT_LEASE_TTL
# Partitions of EVENTS and COMMANDS (the stream subject transform): the most replicas of one
# service that can share the work. Change it only with the streams drained: an entity's
# partition changes with it.
PARTITIONS = DEFAULT_PARTITIONS
# The rate budget all writer replicas share, one key per vendor target (shared_budget.py).
KV_BUDGETS = "pdjira_budgets"
# Ingest's webhook bookkeeping (pdjira_common.webhook_admin): the signing secrets of the
# PagerDuty subscriptions the webhook check created, and when each target's last webhook came.
KV_WEBHOOKS = "pdjira_webhooks"


@dataclass(frozen=True, kw_only=True)
class Topology:
    """Tunables of the declaration (replicas in production, shorter windows in tests)."""

    replicas: int = 1
    partitions: int = PARTITIONS
    partition_lease_ttl: float = PARTITION_LEASE_TTL
    # PagerDuty retries a webhook for up to 48 h; dedupe across what we can afford to track.
    events_duplicate_window: float = 2 * 3600.0
    commands_duplicate_window: float = 2 * 3600.0

    @classmethod
    def of(cls, nats: NatsSettings) -> Topology:
        """The declaration the config's ``nats`` section asks for."""
        return cls(
            replicas=nats.replicas,
            partitions=nats.partitions,
            partition_lease_ttl=nats.partition_lease_ttl,
        )


def stream_configs(topology: Topology) -> list[StreamConfig]:
    r = topology.replicas
    return [
        StreamConfig(
            name=EVENTS,
            subjects=["events.>"],
            subject_transform=transform("events", topology.partitions),
            retention=RetentionPolicy.LIMITS,
            max_age=7 * DAY,
            storage=StorageType.FILE,
            num_replicas=r,
            duplicate_window=topology.events_duplicate_window,
            discard=DiscardPolicy.OLD,
        ),
        StreamConfig(
            name=COMMANDS,
            subjects=["commands.>"],
            subject_transform=transform("commands", topology.partitions),
            retention=RetentionPolicy.WORK_QUEUE,
            max_age=7 * DAY,
            storage=StorageType.FILE,
            num_replicas=r,
            duplicate_window=topology.commands_duplicate_window,
        ),
        StreamConfig(
            name=OUTCOMES,
            subjects=["outcomes.>"],
            retention=RetentionPolicy.LIMITS,
            max_age=7 * DAY,
            storage=StorageType.FILE,
            num_replicas=r,
            duplicate_window=topology.commands_duplicate_window,
        ),
        StreamConfig(
            name=AUDIT,
            subjects=["audit.>"],
            retention=RetentionPolicy.LIMITS,
            max_age=14 * DAY,
            storage=StorageType.FILE,
            num_replicas=r,
        ),
        StreamConfig(
            name=DLQ,
            subjects=["dlq.>"],
            retention=RetentionPolicy.LIMITS,
            max_age=30 * DAY,
            storage=StorageType.FILE,
            num_replicas=r,
        ),
    ]


STREAMS = (EVENTS, COMMANDS, OUTCOMES, AUDIT, DLQ)


def kv_configs(topology: Topology) -> list[KeyValueConfig]:
    r = topology.replicas
    return [
        KeyValueConfig(bucket=KV_LINKS, history=1, replicas=r),
        KeyValueConfig(bucket=KV_USERS, history=1, replicas=r),
        KeyValueConfig(bucket=KV_ECHO, history=1, replicas=r, ttl=ECHO_MAX_TTL),
        KeyValueConfig(bucket=KV_PAIRS, history=1, replicas=r),
        KeyValueConfig(bucket=KV_WRITES, history=1, replicas=r),
        KeyValueConfig(bucket=KV_RULES, history=5, replicas=r),
        KeyValueConfig(bucket=KV_PENDING, history=1, replicas=r, ttl=PENDING_TTL),
        KeyValueConfig(bucket=KV_RECONCILE, history=1, replicas=r),
        KeyValueConfig(bucket=KV_LEASES, history=1, replicas=r, ttl=LEASE_TTL),
        KeyValueConfig(bucket=KV_DONE, history=1, replicas=r, ttl=DONE_TTL),
        KeyValueConfig(
            bucket=KV_PARTITIONS, history=1, replicas=r, ttl=topology.partition_lease_ttl
        ),
        KeyValueConfig(bucket=KV_BUDGETS, history=1, replicas=r),
        KeyValueConfig(bucket=KV_WEBHOOKS, history=1, replicas=r),
    ]


async def ensure_topology(js: JetStreamContext, topology: Topology | None = None) -> None:
    """Create missing streams and buckets; bring existing ones to this definition."""
    topology = topology or Topology()
    for config in stream_configs(topology):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
    for kv in kv_configs(topology):
        try:
            await js.key_value(kv.bucket)
        except BucketNotFoundError:
            await js.create_key_value(kv)
