"""Benchmark: link lookups answered by the mapping service with 100,000 links stored.

The mapping service runs as its own process (as in production); the requester is a FastStream
broker using ``pdjira_common.mapping_client``, exactly as rules and the writers ask. The raw
baseline is a nats-py KV ``get`` of the same keys straight from JetStream (no service hop).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from pathlib import Path

import httpx
import msgspec
import nats
import yaml
from faststream.nats import NatsBroker
from pdjira_common import streams
from pdjira_common.contracts import IncidentRef, IssueRef, Link
from pdjira_common.mapping_client import link_of_incident, link_of_issue
from pdjira_common.streams import Topology, ensure_topology

from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.process import ManagedProcess
from pdjira_devstack.waiting import wait_until

__all__ = ["lookup_latency"]

ACCOUNT = "main"
INSTANCE = "main"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values) * 1000:.2f} ms, p99 {_percentile(values, 0.99) * 1000:.2f}"
        f" ms, max {max(values) * 1000:.2f} ms"
    )


def _link(n: int) -> Link:
    return Link(
        incident=IncidentRef(account=ACCOUNT, incident_id=f"QBENCH{n:08d}"),
        issue=IssueRef(instance=INSTANCE, issue_id=str(100000 + n), key=f"OPS-{n}"),
        created_at="2026-11-26T10:00:00+00:00",
    )


async def _store_links(url: str, count: int) -> float:
    """Write ``count`` links the way the mapping store lays them out; returns seconds taken."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        await ensure_topology(js, Topology())
        kv = await js.key_value(streams.KV_LINKS)
        start = time.perf_counter()
        chunk = 500
        for first in range(0, count, chunk):
            puts = []
            for n in range(first, min(first + chunk, count)):
                link = _link(n)
                data = msgspec.json.encode(link)
                puts.append(kv.put(f"pd.{ACCOUNT}.{link.incident.incident_id}", data))
                puts.append(kv.put(f"jira.{INSTANCE}.{link.issue.issue_id}", data))
            await asyncio.gather(*puts)
        return time.perf_counter() - start
    finally:
        await nc.close()


async def _raw_kv_gets(url: str, picks: list[int]) -> list[float]:
    nc = await nats.connect(url)
    try:
        kv = await nc.jetstream().key_value(streams.KV_LINKS)
        latencies = []
        for n in picks:
            t0 = time.perf_counter()
            await kv.get(f"pd.{ACCOUNT}.QBENCH{n:08d}")
            latencies.append(time.perf_counter() - t0)
        return latencies
    finally:
        await nc.close()


async def _lookups(url: str, picks: list[int]) -> tuple[list[float], list[float], list[float]]:
    broker = NatsBroker(url)
    await broker.connect()
    try:
        by_incident, by_issue, misses = [], [], []
        for n in picks[:200]:  # warm-up: connections, interpreter caches
            await link_of_incident(broker, _link(n).incident)
        for n in picks:
            link = _link(n)
            t0 = time.perf_counter()
            found = await link_of_incident(broker, link.incident)
            by_incident.append(time.perf_counter() - t0)
            if found is None or found.issue.issue_id != link.issue.issue_id:
                raise RuntimeError(f"lookup of {link.incident.incident_id} gave {found}")
            t0 = time.perf_counter()
            await link_of_issue(broker, INSTANCE, link.issue.issue_id)
            by_issue.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            missing = await link_of_incident(
                broker, IncidentRef(account=ACCOUNT, incident_id=f"QX{n}")
            )
            misses.append(time.perf_counter() - t0)
            if missing is not None:
                raise RuntimeError("a lookup of an unknown incident found a link")
        return by_incident, by_issue, misses
    finally:
        await broker.stop()


def _write_config(workdir: Path, nats_url: str, port: int) -> Path:
    config = workdir / "mapping-bench.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "nats": {"url": nats_url},
                "listen": {"mapping": {"host": "127.0.0.1", "port": port}},
                "log_level": "warning",
            }
        )
    )
    return config


async def _wait_loaded(metrics_url: str, keys: int, timeout: float = 300.0) -> float:
    """Seconds until the service holds ``keys`` link keys in memory (its metrics say)."""
    start = time.perf_counter()
    async with httpx.AsyncClient() as client:

        async def loaded() -> bool:
            text = (await client.get(metrics_url)).text
            return any(
                line.startswith("pdjira_mapping_links_in_memory ")
                and float(line.split()[1]) >= keys
                for line in text.splitlines()
            )

        try:
            await wait_until(loaded, timeout=timeout, what=f"{keys} link keys", interval=0.5)
        except TimeoutError:
            raise RuntimeError(f"mapping did not load {keys} link keys in {timeout}s") from None
    return time.perf_counter() - start


async def lookup_latency(workdir: Path, *, links: int = 100_000, samples: int = 3000) -> list[str]:
    """Result lines: lookup latency p50/p99 with ``links`` links stored, and the raw baseline."""
    lines = []
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    with NatsServer(workdir / "mapping-nats", log_file=workdir / "mapping-nats.log") as server:
        took = await _store_links(server.url, links)
        lines.append(f"mapping: stored {links:,} links in {took:.1f} s (setup)")
        port = free_port()
        config = _write_config(workdir, server.url, port)
        process = ManagedProcess(
            "mapping",
            "pdjira_mapping",
            ["--config", str(config)],
            health_url=f"http://127.0.0.1:{port}/health",
            log_file=workdir / "mapping-bench.log",
        )
        process.start()
        try:
            process.wait_healthy()
            loaded = await _wait_loaded(f"http://127.0.0.1:{port}/metrics", 2 * links)
            lines.append(f"mapping: {links:,} links in memory {loaded:.1f} s after start")
            rng = random.Random(4)
            picks = [rng.randrange(links) for _ in range(samples)]
            raw = await _raw_kv_gets(server.url, picks)
            by_incident, by_issue, misses = await _lookups(server.url, picks)
        finally:
            process.stop()
    p99 = _percentile(by_incident, 0.99)
    lines += [
        f"mapping: link lookup by incident ({samples:,} requests, {links:,} links): "
        f"{_ms(by_incident)}",
        f"mapping: link lookup by issue: {_ms(by_issue)}",
        f"mapping: link lookup, not linked: {_ms(misses)}",
        f"raw nats-py KV get of the same keys (no service hop): {_ms(raw)}",
        f"  p99 ratio to raw KV get: {p99 / _percentile(raw, 0.99):.1f}x; "
        f"target p99 <= 2 ms: {'met' if p99 <= 0.002 else 'NOT met'}",
    ]
    return lines


if __name__ == "__main__":  # pragma: no cover - manual run
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for line in asyncio.run(lookup_latency(Path(tmp))):
            print(line)
    sys.exit(0)
