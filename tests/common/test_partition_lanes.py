"""Partitioned lanes on a real nats-server: the stream stores each entity in one partition,
replicas split the partitions, and per-entity order holds when a replica joins, leaves, or is
killed while holding messages (its partitions wait for the redeliveries)."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common import streams
from pdjira_common.config import RetrySettings
from pdjira_common.lanes import LaneDispatcher
from pdjira_common.partition_lanes import PartitionedLanes
from pdjira_common.partitions import Unit, assign, entity_tokens, units
from pdjira_common.streams import Topology, ensure_topology
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_drained, wait_until

RETRY = RetrySettings(base_delay=0.1, max_delay=0.2, max_attempts=3, ack_wait=1.5)
PARTITIONS = 6
LEASE_TTL = 1.5
UNITS = units("w", "commands.jira.>", PARTITIONS)

Applied = dict[str, list[int]]


def test_units_are_the_legacy_durable_then_one_per_partition() -> None:
    assert units("rules", "events.>", 2) == [
        Unit("rules", "events.*.*.*"),
        Unit("rules-p0", "events.*.0.*.*"),
        Unit("rules-p1", "events.*.1.*.*"),
    ]
    assert units("jira-writer", "commands.jira.>", 1)[1] == Unit(
        "jira-writer-p0", "commands.jira.0.*.*"
    )


def test_assignment_is_balanced_and_the_same_for_every_replica() -> None:
    members = ["c", "a", "b"]
    shares = {me: assign(members, UNITS, me) for me in members}
    assert sorted(u for share in shares.values() for u in share) == sorted(UNITS)
    assert {len(share) for share in shares.values()} <= {2, 3}
    assert assign(members, UNITS, "stranger") == []
    assert assign(["a"], UNITS, "a") == UNITS


def test_entity_tokens_skip_the_partition() -> None:
    assert entity_tokens("commands.jira.5.dc1.Q1") == ["dc1", "Q1"]
    assert entity_tokens("commands.jira.dc1.Q1") == ["dc1", "Q1"]


class Replica:
    """One replica: its own connection, partitioned lanes recording what it applied."""

    def __init__(self, url: str, name: str, applied: Applied, delay: float = 0.0) -> None:
        self.url = url
        self.name = name
        self.applied = applied
        self.delay = delay
        self.nc: Client | None = None
        self.lanes: PartitionedLanes | None = None
        self.dead = False

    async def handle(self, msg: Msg) -> None:
        entity, number = msg.data.decode().split(":")
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.dead:
            return
        self.applied[entity].append(int(number))

    async def start(self) -> Replica:
        self.nc = await nats.connect(self.url)
        js = self.nc.jetstream()
        running = asyncio.Semaphore(8)

        def dispatcher(unit: Unit) -> LaneDispatcher:
            return LaneDispatcher(
                js,
                subject=unit.filter,
                durable=unit.durable,
                handler=self.handle,
                retry=RETRY,
                concurrency=8,
                running=running,
            )

        self.lanes = PartitionedLanes(
            js,
            group="w",
            stream=streams.COMMANDS,
            units=UNITS,
            dispatcher=dispatcher,
            ack_wait=RETRY.ack_wait,
            me=self.name,
        )
        await self.lanes.start()
        return self

    async def stop(self) -> None:
        assert self.lanes is not None
        assert self.nc is not None
        await self.lanes.stop()
        await self.nc.close()

    async def kill(self) -> None:
        """As kill -9 would: from now on nothing it holds is applied, acked, nacked or released
        (its connection is gone); then its tasks are ended."""
        assert self.lanes is not None
        assert self.nc is not None
        self.dead = True
        await self.nc.close()
        await self.lanes.stop()  # every ack, nak and release fails: the connection is closed


@asynccontextmanager
async def bus(nats_server: NatsServer) -> AsyncIterator[Client]:
    nc = await nats.connect(nats_server.url)
    await ensure_topology(
        nc.jetstream(),
        Topology(partitions=PARTITIONS, partition_lease_ttl=LEASE_TTL),
    )
    try:
        yield nc
    finally:
        await nc.close()


async def publish(nc: Client, entities: int, per_entity: int, start: int = 0) -> None:
    js = nc.jetstream()
    for number, entity in itertools.product(range(start, start + per_entity), range(entities)):
        await js.publish(f"commands.jira.dc1.E{entity}", f"E{entity}:{number}".encode())


def all_applied(applied: Applied, entities: int, per_entity: int) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return len(applied) == entities and all(len(set(v)) >= per_entity for v in applied.values())

    return probe


def assert_in_order(applied: Applied) -> None:
    for entity, numbers in applied.items():
        # A redelivery may repeat a number already applied (at least once), never go back
        # to an older one after a newer one ran.
        assert numbers == sorted(numbers), f"{entity} applied out of order: {numbers}"


async def test_the_stream_stores_an_entity_in_one_partition(nats_server: NatsServer) -> None:
    async with bus(nats_server) as nc:
        await publish(nc, entities=20, per_entity=2)
        sub = await nc.jetstream().pull_subscribe("commands.jira.>", durable="peek")
        seen: dict[str, set[str]] = defaultdict(set)
        for msg in await sub.fetch(40, timeout=2):
            tokens = msg.subject.split(".")
            assert len(tokens) == 5
            assert 0 <= int(tokens[2]) < PARTITIONS
            seen[tokens[4]].add(tokens[2])
        assert len(seen) == 20
        assert all(len(p) == 1 for p in seen.values())
        assert len({p for ps in seen.values() for p in ps}) > 1  # spread over partitions


async def test_replicas_split_the_partitions_and_keep_each_entity_in_order(
    nats_server: NatsServer,
) -> None:
    applied: Applied = defaultdict(list)
    async with bus(nats_server) as nc:
        replicas = [await Replica(nats_server.url, n, applied).start() for n in ("a", "b", "c")]
        try:

            async def split() -> bool:
                held = [set(r.lanes.held) for r in replicas if r.lanes]
                return sum(map(len, held)) == len(UNITS) and all(held)

            await wait_until(split, timeout=10, what="the units split over 3 replicas")
            await publish(nc, entities=30, per_entity=5)
            await wait_until(all_applied(applied, 30, 5), timeout=20, what="all applied")
            await wait_drained(nc.jetstream(), timeout=10)
        finally:
            for replica in replicas:
                await replica.stop()
    assert_in_order(applied)
    assert all(numbers == list(range(5)) for numbers in applied.values())


async def test_a_replica_joining_and_leaving_hands_partitions_over_in_order(
    nats_server: NatsServer,
) -> None:
    applied: Applied = defaultdict(list)
    async with bus(nats_server) as nc:
        first = await Replica(nats_server.url, "a", applied, delay=0.01).start()
        assert first.lanes is not None
        assert len(first.lanes.held) == len(UNITS)
        await publish(nc, entities=12, per_entity=10)
        second = await Replica(nats_server.url, "b", applied, delay=0.01).start()

        async def shared() -> bool:
            assert first.lanes is not None
            assert second.lanes is not None
            return bool(second.lanes.held) and len(first.lanes.held) < len(UNITS)

        await wait_until(shared, timeout=10, what="the second replica to take a share")
        await publish(nc, entities=12, per_entity=10, start=10)
        await second.stop()  # leaves: the first takes everything back
        await publish(nc, entities=12, per_entity=5, start=20)
        await wait_until(all_applied(applied, 12, 25), timeout=30, what="all applied")
        await wait_drained(nc.jetstream(), timeout=10)
        await first.stop()
    assert_in_order(applied)
    assert all(sorted(set(numbers)) == list(range(25)) for numbers in applied.values())


async def test_a_killed_replicas_partitions_wait_for_its_messages_then_resume_in_order(
    nats_server: NatsServer,
) -> None:
    applied: Applied = defaultdict(list)
    async with bus(nats_server) as nc:
        survivor = await Replica(nats_server.url, "a", applied, delay=0.02).start()
        doomed = await Replica(nats_server.url, "b", applied, delay=0.02).start()

        async def split() -> bool:
            assert survivor.lanes is not None
            assert doomed.lanes is not None
            return bool(doomed.lanes.held) and len(survivor.lanes.held) < len(UNITS)

        await wait_until(split, timeout=10, what="the units split over 2 replicas")
        await publish(nc, entities=16, per_entity=20)
        # Kill it while it holds messages (fetched, some running, none finished for good).
        await wait_until(
            lambda: _holds_some(applied), timeout=10, what="work under way", interval=0.01
        )
        await doomed.kill()
        await publish(nc, entities=16, per_entity=10, start=20)
        await wait_until(all_applied(applied, 16, 30), timeout=40, what="all applied")
        assert survivor.lanes is not None
        assert len(survivor.lanes.held) == len(UNITS)
        await wait_drained(nc.jetstream(), timeout=15)
        await survivor.stop()
    assert_in_order(applied)
    assert all(sorted(set(numbers)) == list(range(30)) for numbers in applied.values())


async def _holds_some(applied: Applied) -> bool:
    return sum(map(len, applied.values())) >= 40


class _Seq:
    """What ``_insert_in_order`` reads of a message: its stream sequence."""

    def __init__(self, stream: int) -> None:
        self.metadata = type("M", (), {"sequence": type("S", (), {"stream": stream})()})()


def _order(arrivals: list[int], *, running: bool) -> list[int]:
    from collections import deque

    from pdjira_common.lanes import _insert_in_order

    lane: deque[Any] = deque()
    for number in arrivals:
        _insert_in_order(lane, _Seq(number), running=running and bool(lane))  # type: ignore[arg-type]
    return [m.metadata.sequence.stream for m in lane]


def test_a_lane_queues_by_stream_sequence_but_never_moves_a_running_head() -> None:
    # Redeliveries come back in the order their ack waits ran out, not in stream order.
    assert _order([89, 37, 79, 120], running=False) == [37, 79, 89, 120]
    assert _order([89, 37, 79, 120], running=True) == [89, 37, 79, 120]
    assert _order([5, 9, 7, 6], running=True) == [5, 6, 7, 9]
