"""Waiting for signals: a condition on the simulators' state (what tests and the demo assert on),
and the whole system being quiet (the proof that nothing more is in flight).

Quiet means: every durable JetStream consumer has been delivered everything and has acked it,
and no simulator has a webhook queued or being delivered. Work in pdjira always sits in one of
those places: a webhook in a simulator's queue until ingest answered (ingest answers after the
event is in JetStream), a message pending or unacked on a durable consumer until its service is
done with it (services ack after they published what follows and made their vendor calls), and
a vendor write queues its webhook before the simulator answers the writer.

One reading of those flags is not enough, because the places are read one after the other: a
writer may make its vendor call and ack just between the read of the simulators and the read
of its consumer, so both look idle while a webhook is queued. So each reading also takes
counters that only grow when work moves: every stream's last sequence, every durable consumer's
delivered and ack floor sequences, every simulator's webhooks submitted and attempts made.
``wait_drained`` returns when two consecutive readings are idle *and* have the same counters.
Every counter was then unchanged from its first read to its second, so nothing moved anywhere
between the end of the first reading and the start of the second: at that moment nothing was in
flight either (work in flight has to move a counter to finish), and nothing can start again
without an outside cause.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from nats.js import JetStreamContext

__all__ = [
    "GroupState",
    "Reading",
    "SimulatorState",
    "block_on",
    "bus_busy",
    "group_state",
    "in_group",
    "read_system",
    "wait_drained",
    "wait_until",
]

T = TypeVar("T")


async def wait_until(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float, what: str, interval: float = 0.2
) -> T:
    """The first truthy value ``probe`` returns; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


def block_on(wait: Coroutine[Any, Any, T]) -> T:
    """Run an async wait from synchronous code (the dev stack's start and stop); in a thread of
    its own when the calling thread already runs an event loop (an async test)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, wait).result()


@dataclass(frozen=True)
class Reading:
    """One look at the system: what is busy, and the counters that move when work moves."""

    busy: tuple[str, ...] = ()
    counters: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def idle(self) -> bool:
        return not self.busy

    def __add__(self, other: Reading) -> Reading:
        return Reading(self.busy + other.busy, {**self.counters, **other.counters})

    def moved_since(self, earlier: Reading) -> list[str]:
        """The counters that differ from ``earlier`` (or appeared or vanished)."""
        names = set(self.counters) | set(earlier.counters)
        return sorted(n for n in names if self.counters.get(n) != earlier.counters.get(n))


def in_group(durable: str, names: Collection[str]) -> bool:
    """``durable`` is one of ``names`` or one of their partitions' (``rules-p3`` of ``rules``)."""
    if durable in names:
        return True
    base, _, partition = durable.rpartition("-p")
    return partition.isdigit() and base in names


@dataclass(frozen=True)
class GroupState:
    """A service's consumers of one stream (its partitions and its legacy durable), summed."""

    num_pending: int
    num_ack_pending: int
    delivered: int  # messages delivered (consumer sequence), over all its consumers


async def group_state(js: JetStreamContext, stream: str, durable: str) -> GroupState:
    pending = unacked = delivered = 0
    for info in await js.consumers_info(stream):
        if info.config.durable_name and in_group(info.config.durable_name, (durable,)):
            pending += info.num_pending or 0
            unacked += info.num_ack_pending or 0
            delivered += info.delivered.consumer_seq if info.delivered else 0
    return GroupState(num_pending=pending, num_ack_pending=unacked, delivered=delivered)


async def _read_bus(js: JetStreamContext, consumers: Collection[str]) -> Reading:
    busy: list[str] = []
    counters: dict[str, tuple[int, ...]] = {}
    for stream in await js.streams_info():
        stream_name = stream.config.name or ""
        counters[f"stream {stream_name}"] = (stream.state.last_seq,)
        for info in await js.consumers_info(stream_name):
            name = info.config.durable_name
            if not name or (consumers and not in_group(name, consumers)):
                continue
            if info.num_pending or info.num_ack_pending:
                busy.append(
                    f"{stream_name}/{name}: {info.num_pending} pending, "
                    f"{info.num_ack_pending} unacked"
                )
            delivered, floor = info.delivered, info.ack_floor
            counters[f"consumer {stream_name}/{name}"] = (
                delivered.consumer_seq if delivered else 0,
                floor.consumer_seq if floor else 0,
                floor.stream_seq if floor else 0,
            )
    return Reading(tuple(busy), counters)


async def bus_busy(js: JetStreamContext, *, consumers: Collection[str] = ()) -> list[str]:
    """What is still in flight: each durable consumer (all, or those named) with messages not
    yet delivered or delivered but not acked, as "<stream>/<consumer>: N pending, M unacked"."""
    return list((await _read_bus(js, consumers)).busy)


async def read_system(
    js: JetStreamContext, sims: SimulatorState | None = None, *, consumers: Collection[str] = ()
) -> Reading:
    """One reading: the simulators' webhook activity (if ``sims``), then the bus."""
    reading = Reading()
    if sims is not None:
        for name, url in (("pagerduty", sims.pd_url), ("jira", sims.jira_url)):
            activity = await sims.webhook_activity(url)
            if activity["queued"]:
                reading += Reading((f"{name} simulator: {activity['queued']} webhooks queued",))
            counters = (activity["submitted"], activity["attempts"], activity["held"])
            reading += Reading(counters={f"{name} webhooks": counters})
    return reading + await _read_bus(js, consumers)


async def wait_drained(
    js: JetStreamContext,
    *,
    timeout: float,
    sims: SimulatorState | None = None,
    consumers: Collection[str] = (),
    interval: float = 0.05,
) -> None:
    """Until the system is quiet (see the module's note): every durable consumer (all, or those
    named) has been delivered and has acked all it was given, the simulators (with ``sims``)
    have no webhook queued or in flight, and two readings in a row agree on every counter.
    TimeoutError says what is busy or what kept moving."""
    previous: Reading | None = None
    problem = ""

    async def quiet_now() -> bool:
        nonlocal previous, problem
        reading = await read_system(js, sims, consumers=consumers)
        moved = reading.moved_since(previous) if previous is not None else ["(first reading)"]
        quiet = reading.idle and previous is not None and previous.idle and not moved
        problem = "; ".join(reading.busy) or "still moving: " + ", ".join(moved)
        previous = reading
        return quiet

    try:
        await wait_until(quiet_now, timeout=timeout, what="quiet", interval=interval)
    except TimeoutError:
        raise TimeoutError(f"the system is still busy after {timeout}s: {problem}") from None


class SimulatorState:
    """Read-only views of the simulators' admin state, for assertions."""

    def __init__(self, client: httpx.AsyncClient, pd_url: str, jira_url: str) -> None:
        self.client = client
        self.pd_url = pd_url
        self.jira_url = jira_url

    async def webhook_activity(self, base_url: str) -> dict[str, int]:
        """``GET /_sim/webhook-activity`` of the simulator at ``base_url``: webhooks queued or
        in flight now, and the counters submitted / attempts / held."""
        response = await self.client.get(f"{base_url}/_sim/webhook-activity")
        response.raise_for_status()
        activity: dict[str, int] = response.json()
        return activity

    async def jira_issues(self) -> list[dict[str, Any]]:
        response = await self.client.get(f"{self.jira_url}/_sim/state")
        response.raise_for_status()
        issues: list[dict[str, Any]] = response.json()["issues"]
        return issues

    async def issues_for_incident(self, account: str, incident_id: str) -> list[dict[str, Any]]:
        label = f"pdjira-{account}-{incident_id}"
        return [i for i in await self.jira_issues() if label in i["fields"].get("labels", [])]

    async def issue(self, key: str) -> dict[str, Any]:
        for issue in await self.jira_issues():
            if issue["key"] == key:
                return issue
        raise KeyError(key)

    async def incident(self, incident_id: str) -> dict[str, Any]:
        response = await self.client.get(f"{self.pd_url}/_sim/state")
        response.raise_for_status()
        for incident in response.json()["incidents"]:
            if incident["id"] == incident_id:
                return dict(incident)
        raise KeyError(incident_id)

    async def jira_requests(self) -> list[dict[str, Any]]:
        response = await self.client.get(f"{self.jira_url}/_sim/requests")
        response.raise_for_status()
        requests: list[dict[str, Any]] = response.json()["requests"]
        return requests

    async def pd_requests(self) -> list[dict[str, Any]]:
        response = await self.client.get(f"{self.pd_url}/_sim/requests")
        response.raise_for_status()
        requests: list[dict[str, Any]] = response.json()["requests"]
        return requests
