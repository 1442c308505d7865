"""``make bench``: our figures as ratios to raw baselines measured in the same run.

The machine is shared and noisy, so absolute numbers mean little; each scenario is paired with
the rawest way to do the same work here (bare HTTP server, raw nats-py, direct vendor call).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import nats
from nats.js.api import StreamConfig

from pdjira_devstack.bench_mapping import lookup_latency
from pdjira_devstack.bench_rules import rules_latency
from pdjira_devstack.bench_storm import storm
from pdjira_devstack.loadgen import post_many
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.process import ManagedProcess
from pdjira_devstack.stack import ACCOUNT, Stack, StackSettings
from pdjira_devstack.waiting import SimulatorState, wait_until
from pdjira_devstack.webhooks import signed_pagerduty_webhook

__all__ = ["main"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _raw_js_publish_rate(workdir: Path, count: int) -> float:
    """Sequential JetStream publishes with PubAck, raw nats-py (the broker's own ceiling here)."""
    with NatsServer(workdir / "raw-nats") as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="BENCH", subjects=["bench.>"]))
        start = time.perf_counter()
        for i in range(count):
            await js.publish(f"bench.{i % 64}", b'{"x":1}', headers={"Nats-Msg-Id": str(i)})
        elapsed = time.perf_counter() - start
        await nc.close()
    return count / elapsed


async def _bare_http_rate(workdir: Path, count: int, concurrency: int) -> tuple[float, list[float]]:
    """A bare ASGI app answering 202 under uvicorn, in its own process like ingest."""
    port = free_port()
    server = ManagedProcess(
        "bare-asgi",
        "pdjira_devstack.bare_asgi",
        [f"--port={port}"],
        health_url=f"http://127.0.0.1:{port}/health",
        log_file=workdir / "bare-asgi.log",
    )
    server.start().wait_healthy()
    try:
        body = b'{"event": {}}'
        return await _post(f"http://127.0.0.1:{port}/", lambda _: (body, {}), count, concurrency)
    finally:
        server.stop()


async def _post(
    url: str,
    make: Callable[[int], tuple[bytes, dict[str, str]]],
    count: int,
    concurrency: int,
) -> tuple[float, list[float]]:
    rate, latencies, statuses = await post_many(url, make, count, concurrency)
    refused = count - statuses.get(202, 0)
    if refused:
        raise RuntimeError(f"{refused} of {count} POSTs were not accepted: {statuses}")
    return rate, latencies


def _signed_webhook(secret: str, index: int, run: str) -> tuple[bytes, dict[str, str]]:
    return signed_pagerduty_webhook(
        secret,
        f"QB{run}{index:08d}",
        event_type="incident.priority_updated",
        service_id="PBENCH1",
        title="bench",
        number=index,
    )


async def _sync_latency(stack: Stack, samples: int) -> list[float]:
    """Incident triggered in PagerDuty -> its issue visible in Jira, one at a time.

    The first sync is a warm-up, not counted: it pays once for connections and for the
    jira-writer's first read of Jira's projects and issue types (cached after)."""
    latencies = []
    async with httpx.AsyncClient(timeout=10.0) as client:
        state = SimulatorState(client, stack.pd_url, stack.jira_url)
        for i in range(-1, samples):
            t0 = time.perf_counter()
            response = await client.post(
                f"{stack.pd_url}/_sim/incidents", json={"title": f"bench latency {i}"}
            )
            incident_id = response.json()["incident"]["id"]
            await wait_until(
                lambda: state.issues_for_incident(ACCOUNT, incident_id),  # noqa: B023 - awaited now
                timeout=30,
                what=f"an issue for {incident_id}",
                interval=0.005,
            )
            if i >= 0:
                latencies.append(time.perf_counter() - t0)
    return latencies


async def _direct_create_latency(stack: Stack, samples: int) -> list[float]:
    """The rawest sync: one direct create call to the Jira simulator, then reading it back."""
    latencies = []
    auth = ("pdjira", stack.env["JIRA_PASSWORD"])
    async with httpx.AsyncClient(timeout=10.0, auth=auth) as client:
        for i in range(samples):
            t0 = time.perf_counter()
            response = await client.post(
                f"{stack.jira_url}/rest/api/2/issue",
                json={
                    "fields": {
                        "project": {"key": "OPS"},
                        "issuetype": {"name": "Task"},
                        "summary": f"direct {i}",
                    }
                },
            )
            response.raise_for_status()
            await client.get(f"{stack.jira_url}/_sim/state")
            latencies.append(time.perf_counter() - t0)
    return latencies


Scenario = Callable[[Path], Awaitable[list[str]]]


async def run(workdir: Path, quick: bool) -> list[str]:
    n_pub = 1000 if quick else 3000
    n_http = 500 if quick else 2000
    n_lat = 10 if quick else 40
    concurrency = 16
    lines = []
    raw_pub = await _raw_js_publish_rate(workdir, n_pub)
    lines.append(f"raw nats-py JetStream publish (sequential, PubAck): {raw_pub:,.0f} msg/s")
    bare_rate, bare_lat = await _bare_http_rate(workdir, n_http, concurrency)
    lines.append(
        f"bare ASGI POST (uvicorn, c={concurrency}): {bare_rate:,.0f} req/s, "
        f"p99 {_percentile(bare_lat, 0.99) * 1000:.1f} ms"
    )
    with Stack(workdir / "stack", StackSettings()) as stack:
        run_id = uuid.uuid4().hex[:4].upper()
        secret = stack.env["PD_WEBHOOK_SECRET"]
        url = f"{stack.url('ingest')}/webhooks/pagerduty/{ACCOUNT}"
        rate, lat = await _post(
            url, lambda i: _signed_webhook(secret, i, run_id), n_http, concurrency
        )
        lines.append(
            f"ingest webhook accept (verify + normalize + JetStream PubAck, c={concurrency}): "
            f"{rate:,.0f} req/s, p50 {_percentile(lat, 0.5) * 1000:.1f} ms, "
            f"p99 {_percentile(lat, 0.99) * 1000:.1f} ms"
        )
        lines.append(
            f"  ratio to bare ASGI: {rate / bare_rate:.2f}; "
            f"to raw JetStream publish: {rate / raw_pub:.2f}"
        )
        sync = await _sync_latency(stack, n_lat)
        direct = await _direct_create_latency(stack, n_lat)
        p50, p95 = statistics.median(sync), _percentile(sync, 0.95)
        d50 = statistics.median(direct)
        lines.append(
            f"sync latency PagerDuty trigger -> Jira issue (5 hops, {n_lat} samples): "
            f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"
        )
        lines.append(
            f"  direct Jira create p50 {d50 * 1000:.1f} ms; "
            f"added latency ratio p50 {p50 / d50:.1f}x"
        )
    lines += await rules_latency(workdir / "rules", n_lat, p50, _sync_latency)
    lines.append("")
    lines += await lookup_latency(workdir / "mapping", links=20_000 if quick else 100_000)
    lines.append("")
    lines += await storm(workdir / "storm")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pdjira-bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts (smoke run)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pdjira-bench-") as tmp:
        for line in asyncio.run(run(Path(tmp), args.quick)):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
