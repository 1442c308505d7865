"""``pdjira dev up``: the whole system on this machine, with simulated PagerDuty and Jira."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pdjira_common.urls import redact_url

if TYPE_CHECKING:
    from pdjira_devstack.stack import Stack

__all__ = ["register"]


def register(commands: Any) -> None:
    dev = commands.add_parser("dev", help="run pdjira locally against the simulators")
    sub = dev.add_subparsers(dest="dev_command", required=True, metavar="ACTION")
    up = sub.add_parser("up", help="start nats-server, the five services and both simulators")
    up.add_argument("--workdir", default=".run", help="data, logs and config (default .run)")
    up.add_argument("--demo", action="store_true", help="run the demo scenario once started")
    up.add_argument(
        "--exit-after-demo", action="store_true", help="stop after the demo (exit 1 if it failed)"
    )
    up.add_argument(
        "--replicas",
        type=_replicas,
        default={},
        metavar="SERVICE=N,...",
        help="run services as several processes, e.g. rules=3,jira-writer=3",
    )
    up.set_defaults(handler=_up)


# The dev stack is imported when `dev up` runs, not with the CLI: the container image ships the
# CLI without it (only production packages), and every other command works there.
_NO_DEVSTACK = (
    "`pdjira dev up` needs the dev stack (pdjira-devstack), which this installation does not"
    " include (the container image ships only the services and the CLI): run it from a checkout"
    " with `make run`"
)


def _devstack_missing(exc: ModuleNotFoundError) -> bool:
    return (exc.name or "").split(".")[0] == "pdjira_devstack"


def _replicas(text: str) -> dict[str, int]:
    try:
        from pdjira_devstack.stack import SERVICES
    except ModuleNotFoundError as exc:
        if _devstack_missing(exc):
            raise argparse.ArgumentTypeError(_NO_DEVSTACK) from None
        raise
    counts = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        service, _, count = item.partition("=")
        if service not in SERVICES or not count.isdigit() or int(count) < 1:
            raise argparse.ArgumentTypeError(
                f"{item!r}: expected SERVICE=N with N >= 1, SERVICE one of {', '.join(SERVICES)}"
            )
        counts[service] = int(count)
    return counts


def _print_where(stack: Stack) -> None:
    print("pdjira is running. Where to look:")
    print(f"  NATS                    {redact_url(stack.nats.url)}")
    print(f"  PagerDuty simulator     {stack.pd_url}  (state: {stack.pd_url}/_sim/state)")
    print(f"  Jira simulator          {stack.jira_url}  (state: {stack.jira_url}/_sim/state)")
    for service in ("ingest", "rules", "jira-writer", "pd-writer", "mapping"):
        for name in stack.replicas(service):
            print(f"  {name:<23} {stack.url(name)}/health  {stack.url(name)}/metrics")
    print(f"  webhooks in             {stack.url('ingest')}/webhooks/pagerduty/main")
    if stack.settings.console:
        print(
            f"  console                 {stack.console_url}/  (login: the token in "
            f"{stack.cli_env_path} as CONSOLE_ADMIN_TOKEN)"
        )
    print(f"  config                  {stack.config_path}")
    print(f"  logs (JSON lines)       {stack.logs}/")
    print(f"  CLI environment         {stack.cli_env_path}  (mode 0600: this run's secrets)")
    print(_cli_hint(stack.cli_env_path))
    sys.stdout.flush()


def _cli_hint(env_file: Path) -> str:
    """How to point the CLI at this stack: source the env file, then any command."""
    try:
        shown = str(env_file.relative_to(Path.cwd()))
    except ValueError:
        shown = str(env_file)
    return (
        f"\nCLI against this stack (another terminal): `source {shown}`, then e.g.\n"
        "  pdjira trace OPS-1 | pdjira rules list | pdjira links show OPS-1 | pdjira dlq list\n"
        "  pdjira doctor | pdjira webhooks check [--fix] | pdjira config check $PDJIRA_CONFIG"
    )


def _up(args: argparse.Namespace) -> int:
    try:
        from pdjira_devstack.demo import run_demo
        from pdjira_devstack.stack import Stack, StackSettings
    except ModuleNotFoundError as exc:
        if _devstack_missing(exc):
            print(f"pdjira: {_NO_DEVSTACK}.", file=sys.stderr)
            return 2
        raise
    workdir = Path(args.workdir).resolve()
    # The simulators keep their state in memory, so JetStream data (links) from an earlier run
    # would point at issues that no longer exist: every run starts clean.
    shutil.rmtree(workdir, ignore_errors=True)
    stack = Stack(workdir, StackSettings(replicas=args.replicas, console=True))
    processes = len(stack.service_processes())
    print(
        f"starting nats-server, 2 simulators and {processes} service processes under {workdir} ..."
    )
    stack.start()
    try:
        _print_where(stack)
        if args.demo or args.exit_after_demo:
            print("\ndemo: a sync both ways")
            try:
                asyncio.run(run_demo(stack, say=lambda line: print("  " + line, flush=True)))
            except TimeoutError as exc:
                print(f"demo FAILED: {exc}; see the logs in {stack.logs}/", file=sys.stderr)
                return 1
            print("demo: done, both sides in sync")
        if args.exit_after_demo:
            return 0
        print("\nPress Ctrl-C to stop.", flush=True)
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
        return 0
    finally:
        # A second Ctrl-C (a terminal and `uv run` may each deliver one) must not cut the stop
        # short: that would leave nats-server or a service running with nobody to stop it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stopping ...", flush=True)
        stack.stop()
