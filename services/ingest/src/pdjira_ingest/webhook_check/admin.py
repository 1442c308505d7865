"""Ingest's admin API (bearer ``ingest.admin_token``): the webhook check.

- ``GET /admin/v1/webhooks[?account=A&instance=I]``: check, change nothing (but ping);
- ``POST /admin/v1/webhooks/fix[?account=A&instance=I]``: check and repair.

Both answer 200 with the report (``ok`` says whether all is well), 401/503 for the token, 404
for an unknown account/instance, 409 when ``ingest.public_url`` is missing or unusable.
"""

from __future__ import annotations

from faststream.nats import NatsBroker
from pdjira_common.bearer import bearer_matches
from pdjira_common.config import Config
from pdjira_common.contracts import encode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pdjira_ingest.webhook_check.kv import WebhookState
from pdjira_ingest.webhook_check.plan import PublicUrlError, pd_url
from pdjira_ingest.webhook_check.run import WebhookCheck

__all__ = ["webhook_admin_routes"]


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status)


def webhook_admin_routes(config: Config, broker: NatsBroker, state: WebhookState) -> list[Route]:
    check = WebhookCheck(config, broker, state)
    accounts = [a.id for a in config.pagerduty_accounts]
    instances = [j.id for j in config.jira_instances]

    async def run(request: Request, *, fix: bool) -> Response:
        token = config.ingest.admin_token
        if token is None:
            return _error(
                503, "the admin API is off: set ingest.admin_token in the config and restart ingest"
            )
        if not bearer_matches(request.headers.get("authorization"), token.reveal()):
            return _error(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)")
        q = request.query_params
        wanted_accounts = q.getlist("account") or None
        wanted_instances = q.getlist("instance") or None
        for kind, wanted, known in (
            ("account", wanted_accounts, accounts),
            ("Jira instance", wanted_instances, instances),
        ):
            unknown = sorted(set(wanted or ()) - set(known))
            if unknown:
                return _error(404, f"unknown {kind} {unknown}; configured: {known}")
        try:
            pd_url(config.ingest.public_url, "x")  # the public URL is usable
        except PublicUrlError as exc:
            return _error(409, str(exc))
        report = await check.run(fix=fix, accounts=wanted_accounts, instances=wanted_instances)
        return Response(encode(report), 200, media_type="application/json")

    async def get(request: Request) -> Response:
        return await run(request, fix=False)

    async def post(request: Request) -> Response:
        return await run(request, fix=True)

    return [
        Route("/admin/v1/webhooks", get, methods=["GET"]),
        Route("/admin/v1/webhooks/fix", post, methods=["POST"]),
    ]
