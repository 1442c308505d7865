"""``make chaos``: people work incidents and issues on both sides while services are killed
with kill -9, the broker restarts, both vendors fail, throttle and slow down, and webhooks are
dropped, duplicated, reordered and delayed. Then the faults stop, the system goes quiet (after
the reconciliation poller had its turn), and the checks read both simulators' state, histories
and request logs and the DLQ. Seeded: the same seed and scale replay the same plan.

    python -m pdjira_devstack.chaos [--seed N] [--scale 0.1] [--json] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nats
from nats.js import JetStreamContext
from nats.js.errors import NoKeysError, NotFoundError
from pdjira_common import streams

from pdjira_devstack.chaos_checks import Evidence, judge
from pdjira_devstack.chaos_faults import FaultRunner
from pdjira_devstack.chaos_people import PairRecord, People, WorldView
from pdjira_devstack.chaos_report import ChaosReport, render_table
from pdjira_devstack.chaos_rules import CHAOS_RULE
from pdjira_devstack.chaos_scenario import ChaosSize, FaultPlan, Plan, make_plan
from pdjira_devstack.stack import ACCOUNT, Stack, StackSettings
from pdjira_devstack.waiting import SimulatorState, wait_drained

__all__ = ["chaos_settings", "main", "run_chaos"]

SETTLE = 1.0  # reconcile.settle: a change younger than this is left to its webhook
QUIET_TIMEOUT = 300.0


def chaos_settings(plan: Plan) -> StackSettings:
    """Quick recovery (short ack wait and retry delays) and a short reconciliation interval,
    so the run shows convergence in minutes."""
    interval = plan.size.reconcile_interval
    return StackSettings(
        ack_wait=3.0,
        base_delay=0.2,
        max_delay=2.0,
        max_attempts=12,
        http_timeout=5.0,
        webhook_retry_delay=0.5,
        rules=[],
        pagerduty_rules=[CHAOS_RULE],
        extra_config={
            "reconcile": {
                "interval": interval,
                "lookback": 120.0,
                "initial_lookback": 600.0,
                "settle": SETTLE,
            },
        },
        seed=plan.seed,
    )


async def _watermarks(js: JetStreamContext) -> dict[str, datetime]:
    """Each reconciliation target's watermark (KV pdjira_reconcile): the end of its last poll
    whose every event was stored."""
    try:
        kv = await js.key_value(streams.KV_RECONCILE)
        keys = await kv.keys()
    except (NotFoundError, NoKeysError):
        return {}
    marks: dict[str, datetime] = {}
    for key in keys:
        try:
            entry = await kv.get(key)
            until = json.loads(entry.value or b"{}")["until"]
            marks[key] = datetime.fromisoformat(until)
        except (KeyError, ValueError, TypeError, NotFoundError):
            continue
    return marks


async def wait_reconciled(js: JetStreamContext, targets: int, timeout: float) -> list[str]:
    """Until every one of the ``targets`` has been polled successfully up to now (its
    watermark at or after this moment plus ``SETTLE``): what the webhooks missed during the
    faults has then been published. A vendor still throttled or a writer still busy makes a
    poll fail; the poller tries again every interval. Returns the targets that never got
    there within ``timeout``."""
    wanted = datetime.now(UTC) + timedelta(seconds=SETTLE)
    deadline = time.monotonic() + timeout
    marks: dict[str, datetime] = {}
    while time.monotonic() < deadline:
        marks = await _watermarks(js)
        if len(marks) >= targets and all(at >= wanted for at in marks.values()):
            return []
        await asyncio.sleep(0.5)
    behind = [f"{key} at {at.isoformat()}" for key, at in sorted(marks.items()) if at < wanted]
    return behind or [f"{targets - len(marks)} target(s) never polled"]


async def _quiet(js: JetStreamContext, sims: SimulatorState, report: ChaosReport) -> None:
    """Until consumers are drained; still busy after ``QUIET_TIMEOUT``: said in the report
    (what is still held shows in the checks), not a crash that hides them."""
    try:
        await wait_drained(js, timeout=QUIET_TIMEOUT, sims=sims)
    except TimeoutError as exc:
        report.notes.append(f"never quiet: {exc}")


def _events(records: list[PairRecord]) -> dict[str, int]:
    counts = Counter[str]()
    for record in records:
        born = record.actions[:1]
        counts.update(f"{'pd' if a.side == 'pd' else 'jira'} create" for a in born)
        counts.update(
            f"pd {a.status}" if a.side == "pd" else f"jira moved to {a.status}"
            for a in record.actions[1:]
        )
        counts.update("pd note" if side == "pd" else "jira comment" for side, _ in record.notes)
        counts["steps skipped (see --json notes)"] += len(record.skipped)
    return dict(sorted(counts.items()))


async def _drive(
    stack: Stack, http: httpx.AsyncClient, plan: Plan, say: Callable[[str], None]
) -> tuple[People, FaultRunner]:
    """The people's scripts and the fault timeline, side by side; then the faults stop."""
    world = WorldView(http, stack.pd_url, stack.jira_url, ACCOUNT)
    refresher = asyncio.create_task(world.keep_fresh())
    faults = FaultRunner(stack, http, plan.faults)
    people = People(http, world, plan.size.partner_wait)
    try:
        if plan.faults.kills or plan.faults.broker_restarts:
            await faults.vendor_faults_on()
        await faults.inject_poison()
        say(f"faults on; {len(plan.pairs)} pairs over {plan.size.window:.0f} s")
        t0 = time.monotonic()
        await asyncio.gather(faults.run(t0), *(people.play(s, t0) for s in plan.pairs))
        await faults.all_off()
        say(f"faults off after {time.monotonic() - t0:.0f} s; waiting for quiet")
    finally:
        refresher.cancel()
    return people, faults


async def run_chaos(
    workdir: Path,
    seed: int,
    scale: float,
    say: Callable[[str], None] = print,
    *,
    calm: bool = False,
) -> ChaosReport:
    """The whole run; the report (its checks filled) whatever they found. ``calm``: the same
    people, no faults (a baseline)."""
    started = time.monotonic()
    plan = make_plan(seed, ChaosSize.scaled(scale))
    if calm:
        plan = replace(plan, faults=FaultPlan((), (), (0.0, 0.0), ()))
    report = ChaosReport(seed=seed, scale=scale)
    shutil.rmtree(workdir, ignore_errors=True)
    stack = Stack(workdir, chaos_settings(plan))
    await asyncio.to_thread(stack.start)
    say(f"stack up in {workdir}")
    try:
        async with httpx.AsyncClient(timeout=30.0, trust_env=False) as http:
            people, faults = await _drive(stack, http, plan, say)
            nc = await nats.connect(stack.nats.url)
            try:
                js = nc.jetstream()
                sims = SimulatorState(http, stack.pd_url, stack.jira_url)
                await _quiet(js, sims, report)
                behind = await wait_reconciled(js, targets=2, timeout=QUIET_TIMEOUT)
                if behind:
                    report.notes.append(
                        "the reconciliation poller did not poll every target up to the end "
                        f"of the faults (KV {streams.KV_RECONCILE}): {', '.join(behind)}"
                    )
                await _quiet(js, sims, report)
                say("quiet; checking")
                evidence = await Evidence.collect(http, js, stack.pd_url, stack.jira_url)
            finally:
                await nc.close()
            records = list(people.records.values())
            report.events = _events(records)
            report.faults = {
                **{f"kill -9 {name}": n for name, n in sorted(faults.kills.items())},
                "broker restarts": faults.broker_restarts,
                "ingest down (s) while Jira sends once": round(faults.ingest_down_seconds),
                **{f"died on its own: {n}": c for n, c in sorted(faults.found_dead.items())},
            }
            for side, counts in (await faults.injected()).items():
                report.faults.update({f"{side} {kind}": n for kind, n in counts.items()})
            judge(records, evidence, faults.poison, report, ACCOUNT)
            for record in records:
                report.notes.extend(f"{record.name}: {s}" for s in record.skipped)
    finally:
        await asyncio.to_thread(stack.stop)
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pdjira_devstack.chaos", description=__doc__)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 320 incidents ...")
    parser.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    parser.add_argument("--workdir", type=Path, default=Path(".run/chaos"))
    parser.add_argument("--calm", action="store_true", help="the same people, no faults")
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(f"chaos: {line}", file=sys.stderr, flush=True)

    report = asyncio.run(
        run_chaos(args.workdir.resolve(), args.seed, args.scale, say, calm=args.calm)
    )
    print(report.to_json() if args.json else render_table(report))
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
