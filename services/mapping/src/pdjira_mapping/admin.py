"""The admin HTTP API (bearer token) under /admin/v1, served on the mapping listener.

Users: list, link, unlink, automap, import; self-link (no admin token: a person's own two
tokens are the proof). Links: show, unlink, export (NDJSON). Trace:
``GET /admin/v1/trace/{ref}`` (``pdjira trace`` as JSON).
Every refusal is JSON ``{"error": "..."}`` saying what was wrong and what to do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import msgspec
from nats.js import JetStreamContext
from pdjira_common.bearer import bearer_matches
from pdjira_common.config import Config
from pdjira_common.contracts import IncidentRef, Link, encode
from pdjira_common.identity import SelfLinkRequest
from pdjira_common.logging import get_logger
from pdjira_common.trace import TraceAmbiguous, TraceNotFound, collect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from pdjira_mapping.handlers import Registries
from pdjira_mapping.registry import UserError

__all__ = ["ADMIN_PREFIX", "admin_app"]

ADMIN_PREFIX = "/admin/"
_log = get_logger(__name__)
Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _json(value: Any, status: int = 200) -> Response:
    return Response(encode_any(value), status_code=status, media_type="application/json")


def encode_any(value: Any) -> bytes:
    return msgspec.json.encode(value)


class LinkView(msgspec.Struct, frozen=True, kw_only=True):
    link: Link
    state: Any = None
    pairs: tuple[Any, ...] = ()


class UserBody(msgspec.Struct, frozen=True, kw_only=True):
    jira_user: str


class AutomapBody(msgspec.Struct, frozen=True, kw_only=True):
    pd_user_ids: tuple[str, ...]
    save: bool = False


class ImportRow(msgspec.Struct, frozen=True, kw_only=True):
    pd_user_id: str | None = None
    email: str | None = None
    name: str | None = None
    jira_user: str | None = None


class ImportBody(msgspec.Struct, frozen=True, kw_only=True):
    rows: tuple[ImportRow, ...]


def admin_app(
    config: Config,
    registries: Registries,
    *,
    trace_js: Callable[[], JetStreamContext] | None = None,
) -> Starlette:
    token = config.mapping.admin_token
    accounts = {a.id for a in config.pagerduty_accounts}
    instances = {j.id for j in config.jira_instances}

    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            if token is None:
                return _error(
                    503, "the admin API is off: set mapping.admin_token in the config and restart"
                )
            if not bearer_matches(request.headers.get("authorization"), token.reveal()):
                return _error(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)")
            pair = request.path_params
            if "account" in pair and pair["account"] not in accounts:
                return _error(
                    404, f"unknown account {pair['account']!r}; configured: {sorted(accounts)}"
                )
            if "instance" in pair and pair["instance"] not in instances:
                return _error(
                    404,
                    f"unknown Jira instance {pair['instance']!r}; configured: {sorted(instances)}",
                )
            try:
                return await handler(request)
            except UserError as exc:
                return _error(422, str(exc))
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                return _error(400, f"bad request body: {exc}")

        return run

    async def body(request: Request, type_: type[Any]) -> Any:
        return msgspec.json.decode(await request.body(), type=type_)

    # ------------------------------------------------------------------ users
    async def list_users(request: Request) -> Response:
        q = request.query_params
        links = await registries.users.manual_links(q.get("account"), q.get("instance"))
        return _json({"users": links})

    async def link_user(request: Request) -> Response:
        p = request.path_params
        wanted: UserBody = await body(request, UserBody)
        link = await registries.users.link(
            p["account"], p["instance"], p["pd_user_id"], wanted.jira_user
        )
        _log.info("user_linked", pd_user=link.pd_user.id, jira_user=link.jira_user.name)
        return _json({"user": link})

    async def unlink_user(request: Request) -> Response:
        p = request.path_params
        link = await registries.users.unlink(p["account"], p["instance"], p["pd_user_id"])
        if link is None:
            return _error(404, f"PagerDuty user {p['pd_user_id']} has no manual link")
        _log.info("user_unlinked", pd_user=link.pd_user.id, jira_user=link.jira_user.name)
        return _json({"user": link})

    async def automap(request: Request) -> Response:
        p = request.path_params
        wanted: AutomapBody = await body(request, AutomapBody)
        results = []
        for pd_user_id in wanted.pd_user_ids:
            reply = await registries.users.automap(
                p["account"], p["instance"], pd_user_id, save=wanted.save
            )
            results.append({"pd_user_id": pd_user_id, "result": reply})
        return _json({"results": results})

    async def import_users(request: Request) -> Response:
        p = request.path_params
        wanted: ImportBody = await body(request, ImportBody)
        results: list[dict[str, Any]] = []
        for i, row in enumerate(wanted.rows):
            try:
                link = await registries.users.import_row(
                    p["account"],
                    p["instance"],
                    pd_user_id=row.pd_user_id,
                    email=row.email,
                    jira_user=row.jira_user,
                )
            except UserError as exc:
                results.append({"row": i, "ok": False, "error": str(exc)})
                continue
            if link is None:
                who = row.email or row.pd_user_id
                results.append(
                    {"row": i, "ok": False, "error": f"no Jira user has the e-mail of {who}"}
                )
            else:
                results.append({"row": i, "ok": True, "user": link})
        return _json({"results": results})

    # ------------------------------------------------------------------ links
    async def find(request: Request) -> Link | None:
        p = request.path_params
        if "incident_id" in p:
            incident = IncidentRef(account=p["account"], incident_id=p["incident_id"])
            return await registries.links.by_incident(incident)
        link = await registries.links.by_issue_key(p["instance"], p["issue"])
        return link or await registries.links.by_issue(p["instance"], p["issue"])

    async def show_link(request: Request) -> Response:
        link = await find(request)
        if link is None:
            return _error(404, "not linked (no link for that incident or issue)")
        view = LinkView(
            link=link,
            state=await registries.pairs.state(link.incident),
            pairs=tuple(await registries.pairs.pairs_of(link.incident)),
        )
        return _json(view)

    async def unlink_link(request: Request) -> Response:
        link = await find(request)
        if link is None:
            return _error(404, "not linked (no link for that incident or issue)")
        await registries.links.unlink(link)
        await registries.pairs.forget(link.incident)
        _log.info(
            "link_removed", incident=link.incident.incident_id, issue=link.issue.key, by="admin"
        )
        return _json({"removed": link})

    async def export_links(request: Request) -> Response:
        async def lines() -> AsyncIterator[bytes]:
            async for link in registries.links.export():
                yield encode(link) + b"\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    # ------------------------------------------------------------------ self-link
    async def self_link(request: Request) -> Response:
        """No admin token: the person's own PagerDuty user API key and Jira PAT are the proof
        (each checked once by its writer, never stored, never logged)."""
        try:
            wanted = msgspec.json.decode(await request.body(), type=SelfLinkRequest)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return _error(400, f"bad request body: {exc}")
        if wanted.account not in accounts:
            return _error(
                404, f"unknown account {wanted.account!r}; configured: {sorted(accounts)}"
            )
        if wanted.instance not in instances:
            return _error(
                404,
                f"unknown Jira instance {wanted.instance!r}; configured: {sorted(instances)}",
            )
        try:
            link = await registries.users.self_link(wanted)
        except UserError as exc:
            return _error(422, str(exc))
        _log.info("user_self_linked", pd_user=link.pd_user.id, jira_user=link.jira_user.name)
        return _json({"user": link})

    v1 = "/admin/v1"
    incident = v1 + "/links/incident/{account}/{incident_id}"
    issue = v1 + "/links/issue/{instance}/{issue}"
    user = v1 + "/users/{account}/{instance}/{pd_user_id}"
    routes = [
        Route(v1 + "/users", guarded(list_users), methods=["GET"]),
        Route(v1 + "/users/self-link", self_link, methods=["POST"]),
        Route(v1 + "/users/{account}/{instance}/automap", guarded(automap), methods=["POST"]),
        Route(v1 + "/users/{account}/{instance}/import", guarded(import_users), methods=["POST"]),
        Route(user, guarded(link_user), methods=["PUT"]),
        Route(user, guarded(unlink_user), methods=["DELETE"]),
        Route(v1 + "/links", guarded(export_links), methods=["GET"]),
        Route(incident, guarded(show_link), methods=["GET"]),
        Route(incident, guarded(unlink_link), methods=["DELETE"]),
        Route(issue, guarded(show_link), methods=["GET"]),
        Route(issue, guarded(unlink_link), methods=["DELETE"]),
    ]
    if trace_js is not None:
        routes.append(Route(v1 + "/trace/{ref}", guarded(trace_handler(trace_js)), methods=["GET"]))
    return Starlette(routes=routes)


def trace_handler(js: Callable[[], JetStreamContext]) -> Handler:
    """``GET /admin/v1/trace/{ref}?instance=&account=&since=<hours>``: the trace of an issue key,
    incident or issue id, entity or correlation id, as ``pdjira trace --json`` prints it."""

    async def trace(request: Request) -> Response:
        query = request.query_params
        try:
            hours = min(max(float(query.get("since", "24")), 0.0), 14 * 24.0)
        except ValueError:
            return _error(400, f"since: hours to look back, a number; got {query['since']!r}")
        try:
            found = await collect(
                js(),
                request.path_params["ref"],
                instance=query.get("instance"),
                account=query.get("account"),
                since=timedelta(hours=hours),
            )
        except TraceAmbiguous as exc:
            return _error(409, str(exc))
        except TraceNotFound as exc:
            return _error(404, str(exc))
        return _json(found)

    return trace
