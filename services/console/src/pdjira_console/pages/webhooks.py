"""Webhooks: per PagerDuty account and Jira instance, are the webhook subscriptions what the
config needs (ingest's admin API ``GET /admin/v1/webhooks``, which also pings PagerDuty's and
times the round trip), and "Fix" (``POST /admin/v1/webhooks/fix``) repairs them."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_console.context import AdminApiError, Console, NavEntry

__all__ = ["NAV", "fixed_summary", "routes"]

NAV = NavEntry("Webhooks", "/webhooks")
# A check pings each PagerDuty account and waits for the ping (ingest.ping_timeout) and the
# writers: as long as the CLI waits.
CHECK_TIMEOUT = 300.0
SYSTEMS = {"pagerduty": "PagerDuty account", "jira": "Jira instance"}


def fixed_summary(report: dict[str, Any]) -> tuple[str, str]:
    """(notice, error) of a fix report: what was repaired, what was not, what is still wrong."""
    fixed: list[str] = []
    failed: list[str] = []
    for target in report.get("targets") or []:
        where = f"{SYSTEMS.get(target['system'], target['system'])} {target['target']}"
        if target.get("error"):
            failed.append(f"{where}: {target['error']}")
        for action in target.get("actions") or []:
            what = f"{action['op']} {action['id']}".rstrip()
            if action["done"]:
                fixed.append(f"{where}: fixed: {what}: {action['reason']}")
            else:
                failed.append(
                    f"{where}: NOT fixed: {what}: {action['reason']}: {action.get('error')}"
                )
        if target.get("actions"):
            failed.extend(
                f"{where}: still wrong: {f['message']}"
                for f in target.get("after_fix") or []
                if f["problem"]
            )
    notice = "; ".join(fixed) if fixed else ("Nothing to fix." if report.get("ok") else "")
    return notice, "; ".join(failed)


def routes(console: Console) -> list[Route]:
    async def page(request: Request) -> Response:
        errors: list[str] = []
        report: dict[str, Any] = {"ok": False, "targets": []}
        try:
            report = await console.get_json(
                console.ingest, "/admin/v1/webhooks", timeout=CHECK_TIMEOUT
            )
        except AdminApiError as exc:
            errors.append(exc.message)
        return console.render(
            request, "webhooks.html", report=report, errors=errors, systems=SYSTEMS
        )

    async def fix(request: Request) -> Response:
        try:
            report = await console.call(
                console.ingest, "POST", "/admin/v1/webhooks/fix", timeout=CHECK_TIMEOUT
            )
        except AdminApiError as exc:
            return console.redirect(request, "/webhooks", error=exc.message)
        notice, error = fixed_summary(report)
        return console.redirect(request, "/webhooks", notice=notice, error=error)

    return [
        Route("/webhooks", page, methods=["GET"]),
        Route("/webhooks/fix", fix, methods=["POST"]),
    ]
