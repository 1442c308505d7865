"""``pdjira webhooks check [--fix]``: are PagerDuty's and Jira's webhook subscriptions what the
configuration needs? Asks ingest's admin API (ingest asks the writers, which talk to the
vendors), prints one block per account/instance.

Exit status: 0 all good; 1 problems found (check) or not all repaired (--fix); 2 usage or
config errors; 3 ingest unreachable.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import httpx

from pdjira_cli.admin_client import CONFIG_HELP, INGEST, AdminError, connect, run

__all__ = ["register", "render"]

# A fix with pings waits for each account's ping (ingest.ping_timeout) and the writers.
_TIMEOUT = 300.0


def register(commands: Any) -> None:
    webhooks = commands.add_parser("webhooks", help="PagerDuty and Jira webhook subscriptions")
    sub = webhooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    parser = sub.add_parser(
        "check",
        help="compare the registered webhooks with what the config needs; --fix repairs them",
        description="Per PagerDuty account and Jira instance: list the webhook subscriptions, "
        "report missing, disabled and wrong ones, repair them with --fix, and ping PagerDuty's "
        "(the ping must reach ingest; the round trip is timed).",
    )
    parser.add_argument("--config", help=CONFIG_HELP)
    parser.add_argument("--url", help="ingest URL (default: from listen.ingest in the config)")
    parser.add_argument("--fix", action="store_true", help="create, repair and remove as needed")
    parser.add_argument(
        "--account", action="append", help="only this PagerDuty account (repeatable)"
    )
    parser.add_argument("--instance", action="append", help="only this Jira instance (repeatable)")
    parser.add_argument("--json", action="store_true", help="print ingest's report as JSON")
    parser.set_defaults(handler=lambda args: run(_check, args, INGEST))


def _check(args: argparse.Namespace) -> int:
    config, client = connect(INGEST, args, timeout=_TIMEOUT)
    if not config.ingest.public_url:
        raise AdminError(
            "ingest.public_url is not set in the config: set it to the URL PagerDuty and Jira "
            "reach ingest at (e.g. https://pdjira.example.com) for ingest and this command"
        )
    params = [("account", a) for a in args.account or []] + [
        ("instance", i) for i in args.instance or []
    ]
    with client:
        if args.fix:
            response = client.post("/admin/v1/webhooks/fix", params=params)
        else:
            response = client.get("/admin/v1/webhooks", params=params)
    report = _answer(response)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("\n".join(render(report)))
    return 0 if report.get("ok") else 1


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict):
        return body
    message = body.get("error") if isinstance(body, dict) else None
    raise AdminError(f"ingest answered {response.status_code}: {message or response.text}")


def _mark(ok: bool) -> str:
    return "ok" if ok else "PROBLEM"


def render(report: dict[str, Any]) -> list[str]:
    """Human-readable lines of ingest's report."""
    lines: list[str] = []
    for target in report.get("targets") or []:
        label = "PagerDuty account" if target["system"] == "pagerduty" else "Jira instance"
        lines.append(f"{label} {target['target']}: {_mark(target['ok'])}")
        if target.get("url"):
            lines.append(f"  expected URL: {target['url']}")
        if target.get("error"):
            lines.append(f"  error: {target['error']}")
        for finding in target.get("findings") or []:
            tag = ("found" if report.get("fix") else "problem") if finding["problem"] else "note"
            lines.append(f"  {tag}: {finding['message']}")
        if not target.get("findings") and not target.get("error"):
            lines.append("  subscription as expected")
        for action in target.get("actions") or []:
            what = f"{action['op']} {action['id']}".rstrip()
            if action["done"]:
                lines.append(f"  fixed: {what}: {action['reason']}")
            else:
                lines.append(f"  NOT fixed: {what}: {action['reason']}: {action.get('error')}")
        if report.get("fix") and target.get("actions"):
            left = [f for f in target.get("after_fix") or [] if f["problem"]]
            lines.extend(f"  still wrong: {f['message']}" for f in left)
        ping = target.get("ping")
        if ping:
            lines.append(f"  ping: {ping['message']}")
        if target["system"] == "pagerduty" and target.get("last_webhook_at"):
            lines.append(f"  last webhook received: {target['last_webhook_at']}")
        lines.extend(f"  note: {note}" for note in target.get("notes") or [])
    verdict = "all good" if report.get("ok") else "problems remain"
    if not report.get("fix") and not report.get("ok"):
        verdict = "problems found; `pdjira webhooks check --fix` repairs them"
    lines.append(verdict)
    return lines
