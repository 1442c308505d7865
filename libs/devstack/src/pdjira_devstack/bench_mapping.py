"""Benchmark: link lookups answered by the mapping service with 1,000,000 links stored.

The mapping service runs as its own process (as in production); the requester is a FastStream
broker using ``pdjira_common.mapping_client``, exactly as rules and the writers ask. The raw
baseline is a nats-py KV ``get`` of the same keys straight from JetStream (no service hop).
Storing the links has a time budget: when it runs out, the bench measures with the links stored
so far and says how many. Also measured: the service's start time and its memory (RSS).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from pathlib import Path

import msgspec
import nats
import yaml
from faststream.nats import NatsBroker
from nats.aio.msg import Msg
from pdjira_common import streams
from pdjira_common.contracts import IncidentRef, IssueRef, Link
from pdjira_common.mapping_client import link_of_incident, link_of_issue
from pdjira_common.streams import Topology, ensure_topology

from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.process import ManagedProcess
from pdjira_devstack.waiting import wait_until

__all__ = ["lookup_bench"]

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


async def _store_links(url: str, count: int, budget: float) -> tuple[int, float]:
    """Write up to ``count`` links the way the mapping store lays them out (three keys each),
    stopping after ``budget`` seconds; returns the links written and the seconds taken.

    Fast: a batch of publishes goes out at once, each asking for its PubAck on one wildcard
    inbox, and the batch is done when every ack has come back (an error ack stops the bench)."""
    nc = await nats.connect(url)
    try:
        await ensure_topology(nc.jetstream(), Topology())
        prefix = f"$KV.{streams.KV_LINKS}."
        inbox = nc.new_inbox()
        acked = 0
        expected = 0
        batch_done = asyncio.Event()
        errors: list[bytes] = []

        async def on_ack(msg: Msg) -> None:
            nonlocal acked
            if b'"error"' in msg.data:
                errors.append(msg.data)
            acked += 1
            if acked >= expected:
                batch_done.set()

        sub = await nc.subscribe(f"{inbox}.*", cb=on_ack, pending_msgs_limit=-1)
        start = time.perf_counter()
        chunk = 5000  # links per batch
        written = 0
        while written < count and time.perf_counter() - start < budget:
            batch_done.clear()
            for n in range(written, min(written + chunk, count)):
                link = _link(n)
                data = msgspec.json.encode(link)
                keys = (
                    f"pd.{ACCOUNT}.{link.incident.incident_id}",
                    f"jira.{INSTANCE}.{link.issue.issue_id}",
                    f"jirakey.{INSTANCE}.{link.issue.key}",
                )
                for key in keys:
                    expected += 1
                    await nc.publish(prefix + key, data, reply=f"{inbox}.{expected}")
            await asyncio.wait_for(batch_done.wait(), 60.0)
            if errors:
                raise RuntimeError(f"storing links failed: {errors[0]!r}")
            written = min(written + chunk, count)
        took = time.perf_counter() - start
        await sub.unsubscribe()
        return written, took
    finally:
        await nc.close()


async def _raw_kv_gets(url: str, picks: list[int]) -> list[float]:
    nc = await nats.connect(url)
    try:
        kv = await nc.jetstream().key_value(streams.KV_LINKS)
        latencies = []
        for n in picks[:200]:  # warm-up, as for the service's lookups
            await kv.get(f"pd.{ACCOUNT}.QBENCH{n:08d}")
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


def _memory_mb(pid: int) -> tuple[float, float]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024  # kB
    return fields["VmRSS"], fields["VmHWM"]


async def _first_answer(url: str, link: Link, timeout: float = 60.0) -> None:
    """Wait until the service answers a lookup (with the right link)."""
    broker = NatsBroker(url)
    await broker.connect()
    try:

        async def answered() -> bool:
            try:
                return await link_of_incident(broker, link.incident) == link
            except Exception:
                return False

        await wait_until(answered, timeout=timeout, what="the first lookup", interval=0.05)
    finally:
        await broker.stop()


async def lookup_bench(
    workdir: Path, *, links: int = 1_000_000, samples: int = 3000, setup_budget: float = 120.0
) -> tuple[list[str], dict[str, float]]:
    """Result lines and figures: start time, lookup latency p50/p99 with up to ``links`` links
    stored (as many as ``setup_budget`` seconds allow), the raw baseline, the service's RSS.

    The figures' keys: ``mapping_links``, ``mapping_lookup_p99_ms`` (by incident),
    ``mapping_rss_mb`` (after the lookups) and the others below."""
    lines = []
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    with NatsServer(workdir / "mapping-nats", log_file=workdir / "mapping-nats.log") as server:
        stored, took = await _store_links(server.url, links, setup_budget)
        lines.append(
            f"mapping: stored {stored:,} links ({3 * stored:,} keys) in {took:.1f} s (setup"
            + (
                f"; budget {setup_budget:.0f} s reached before {links:,})"
                if stored < links
                else ")"
            )
        )
        port = free_port()
        config = _write_config(workdir, server.url, port)
        process = ManagedProcess(
            "mapping",
            "pdjira_mapping",
            ["--config", str(config)],
            health_url=f"http://127.0.0.1:{port}/health",
            log_file=workdir / "mapping-bench.log",
        )
        started = time.perf_counter()
        process.start()
        try:
            await process.healthy(timeout=60.0)
            await _first_answer(server.url, _link(stored - 1))
            start_s = time.perf_counter() - started
            lines.append(f"mapping: started and answering {start_s:.2f} s after launch")
            rng = random.Random(4)
            picks = [rng.randrange(stored) for _ in range(samples)]
            raw = await _raw_kv_gets(server.url, picks)
            by_incident, by_issue, misses = await _lookups(server.url, picks)
            assert process.pid is not None
            rss, hwm = _memory_mb(process.pid)
        finally:
            process.stop()
    p99 = _percentile(by_incident, 0.99)
    raw_p99 = _percentile(raw, 0.99)
    lines += [
        f"mapping: link lookup by incident ({samples:,} requests, {stored:,} links): "
        f"{_ms(by_incident)}",
        f"mapping: link lookup by issue: {_ms(by_issue)}",
        f"mapping: link lookup, not linked: {_ms(misses)}",
        f"raw nats-py KV get of the same keys (no service hop): {_ms(raw)}",
        f"  p99 ratio to raw KV get: {p99 / raw_p99:.1f}x; "
        f"target p99 <= 2 ms: {'met' if p99 <= 0.002 else 'NOT met'}",
        f"mapping: process memory after the lookups: RSS {rss:.1f} MiB, peak {hwm:.1f} MiB",
    ]
    figures = {
        "mapping_links": float(stored),
        "mapping_lookup_p99_ms": p99 * 1000,
        "mapping_lookup_p50_ms": statistics.median(by_incident) * 1000,
        "mapping_lookup_by_issue_p99_ms": _percentile(by_issue, 0.99) * 1000,
        "mapping_lookup_not_linked_p99_ms": _percentile(misses, 0.99) * 1000,
        "mapping_raw_kv_get_p99_ms": raw_p99 * 1000,
        "mapping_start_s": start_s,
        "mapping_setup_s": took,
        "mapping_rss_mb": rss,
        "mapping_rss_peak_mb": hwm,
    }
    return lines, figures


if __name__ == "__main__":  # pragma: no cover - manual run
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        result_lines, result = asyncio.run(lookup_bench(Path(tmp)))
        for line in result_lines:
            print(line)
        print(result)
    sys.exit(0)
