"""Users: the PagerDuty <-> Jira user links (mapping's admin API): list, link, unlink,
automap by e-mail, CSV import; the fallback users (config, read-only); and ``/self-link``, the
one public page: a person links their own two users with their own tokens (no admin login)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from pdjira_common.config import Config, UserFallback
from pdjira_common.user_csv import UserCsvError, parse_users_csv_text
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_console.context import API_TIMEOUT, AdminApiError, Console, NavEntry

__all__ = ["NAV", "public_routes", "routes"]

NAV = NavEntry("Users", "/users")
USERS = "/admin/v1/users"
MAX_CSV_BYTES = 1_000_000
_SPLIT = re.compile(r"[\s,;]+")


def pairs(config: Config) -> tuple[list[str], list[str]]:
    """The configured PagerDuty account ids and Jira instance ids."""
    return [a.id for a in config.pagerduty_accounts], [j.id for j in config.jira_instances]


def chosen(form: FormData, config: Config) -> tuple[str, str]:
    """The account and instance a form names (the only one when one is configured)."""
    accounts, instances = pairs(config)
    account = str(form.get("account") or (accounts[0] if len(accounts) == 1 else ""))
    instance = str(form.get("instance") or (instances[0] if len(instances) == 1 else ""))
    if account not in accounts:
        raise AdminApiError(f"choose a PagerDuty account (configured: {', '.join(accounts)})")
    if instance not in instances:
        raise AdminApiError(f"choose a Jira instance (configured: {', '.join(instances)})")
    return account, instance


def show(user: dict[str, Any]) -> str:
    """A manual link in one line, as ``pdjira users list`` prints it."""
    pd, jira = user["pd_user"], user["jira_user"]
    email = f" <{pd['email']}>" if pd.get("email") else ""
    return f"{pd['id']}{email} -> {jira['name']} ({jira['key']})"


def automap_summary(results: list[dict[str, Any]], save: bool) -> tuple[str, str]:
    """(notice, error) lines of an automap answer."""
    mapped, missed = [], []
    for item in results:
        reply = item["result"]
        if reply.get("source") == "email":
            mapped.append(
                f"{item['pd_user_id']} -> {reply['jira_user']['name']} ({reply['reason']})"
            )
        else:
            missed.append(f"{item['pd_user_id']} not mapped: {reply['reason']}")
    notice = ""
    if mapped:
        kept = "saved as links" if save else "not saved: tick 'Save' to keep them as links"
        notice = f"Automap found {len(mapped)} ({kept}): " + "; ".join(mapped)
    return notice, "; ".join(missed)


def import_summary(results: list[dict[str, Any]]) -> tuple[str, str]:
    """(notice, error) of an import answer; lines numbered as in the file (header: line 1)."""
    linked = [f"line {r['row'] + 2}: {show(r['user'])}" for r in results if r["ok"]]
    failed = [f"line {r['row'] + 2}: {r['error']}" for r in results if not r["ok"]]
    notice = f"Imported {len(linked)} link(s): " + "; ".join(linked) if linked else ""
    error = f"{len(failed)} row(s) not linked: " + "; ".join(failed) if failed else ""
    if not results:
        error = "The CSV has no rows under its header."
    return notice, error


async def csv_text(form: FormData) -> str:
    """The CSV of the import form: the uploaded file, else the pasted text."""
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(MAX_CSV_BYTES + 1)
        if len(data) > MAX_CSV_BYTES:
            raise AdminApiError("the CSV is over 1 MB: split it and import the parts")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AdminApiError("the CSV is not UTF-8 text: save it as CSV UTF-8") from None
    text = str(form.get("csv") or "")
    if not text.strip():
        raise AdminApiError("choose a CSV file or paste the CSV text")
    return text


def fallbacks(config: Config) -> list[UserFallback]:
    return list(config.mapping.fallbacks)


def routes(console: Console) -> list[Route]:
    accounts, instances = pairs(console.config)

    async def page(request: Request) -> Response:
        errors: list[str] = []
        try:
            users = (await console.get_json(console.mapping, USERS))["users"]
        except AdminApiError as exc:
            users = []
            errors.append(exc.message)
        return console.render(
            request,
            "users.html",
            users=users,
            errors=errors,
            accounts=accounts,
            instances=instances,
            fallbacks=fallbacks(console.config),
            unlinked=console.config.mapping.unlinked_users,
        )

    async def link(request: Request) -> Response:
        form = await request.form()
        pd_user = str(form.get("pd_user") or "").strip()
        jira_user = str(form.get("jira_user") or "").strip()
        if not pd_user or not jira_user:
            return console.redirect(
                request, "/users", error="Give both the PagerDuty user id and the Jira user."
            )
        try:
            account, instance = chosen(form, console.config)
            path = f"{USERS}/{account}/{instance}/{pd_user}"
            answer = await console.call(console.mapping, "PUT", path, json={"jira_user": jira_user})
        except AdminApiError as exc:
            return console.redirect(request, "/users", error=exc.message)
        return console.redirect(request, "/users", notice=f"Linked: {show(answer['user'])}")

    async def unlink(request: Request) -> Response:
        form = await request.form()
        pd_user = str(form.get("pd_user") or "").strip()
        try:
            account, instance = chosen(form, console.config)
            answer = await console.call(
                console.mapping, "DELETE", f"{USERS}/{account}/{instance}/{pd_user}"
            )
        except AdminApiError as exc:
            return console.redirect(request, "/users", error=exc.message)
        return console.redirect(request, "/users", notice=f"Unlinked: {show(answer['user'])}")

    async def automap(request: Request) -> Response:
        form = await request.form()
        ids = [i for i in _SPLIT.split(str(form.get("pd_users") or "")) if i]
        save = form.get("save") == "on"
        if not ids:
            return console.redirect(
                request, "/users", error="Give one or more PagerDuty user ids to automap."
            )
        try:
            account, instance = chosen(form, console.config)
            answer = await console.call(
                console.mapping,
                "POST",
                f"{USERS}/{account}/{instance}/automap",
                json={"pd_user_ids": ids, "save": save},
                timeout=max(API_TIMEOUT, 5.0 * len(ids)),
            )
        except AdminApiError as exc:
            return console.redirect(request, "/users", error=exc.message)
        notice, error = automap_summary(answer["results"], save)
        return console.redirect(request, "/users", notice=notice, error=error)

    async def import_csv(request: Request) -> Response:
        form = await request.form()
        try:
            account, instance = chosen(form, console.config)
            rows = parse_users_csv_text(await csv_text(form))
            answer = await console.call(
                console.mapping,
                "POST",
                f"{USERS}/{account}/{instance}/import",
                json={"rows": rows},
                timeout=max(API_TIMEOUT, 5.0 * len(rows)),
            )
        except UserCsvError as exc:
            return console.redirect(request, "/users", error=str(exc))
        except AdminApiError as exc:
            return console.redirect(request, "/users", error=exc.message)
        notice, error = import_summary(answer["results"])
        return console.redirect(request, "/users", notice=notice, error=error)

    return [
        Route("/users", page, methods=["GET"]),
        Route("/users/link", link, methods=["POST"]),
        Route("/users/unlink", unlink, methods=["POST"]),
        Route("/users/automap", automap, methods=["POST"]),
        Route("/users/import", import_csv, methods=["POST"]),
    ]


def public_routes(console: Console) -> list[Route]:
    """``/self-link``: no admin login (a person proves both users with their own tokens,
    which are sent to mapping once and never stored, logged or shown)."""
    accounts, instances = pairs(console.config)

    async def page(request: Request) -> Response:
        return console.render(request, "self_link.html", accounts=accounts, instances=instances)

    async def submit(request: Request) -> Response:
        form = await request.form()
        pd_token = str(form.get("pd_token") or "").strip()
        jira_token = str(form.get("jira_token") or "").strip()
        if not pd_token or not jira_token:
            return console.redirect(
                request,
                "/self-link",
                error="Give both your PagerDuty user API key and your Jira personal access token.",
            )
        try:
            account, instance = chosen(form, console.config)
            # Not the console's mapping client: this call carries no admin token.
            async with httpx.AsyncClient(
                base_url=console.mapping.base_url, timeout=API_TIMEOUT
            ) as anonymous:
                body = {
                    "account": account,
                    "instance": instance,
                    "pd_token": pd_token,
                    "jira_token": jira_token,
                }
                answer = await console.call(anonymous, "POST", f"{USERS}/self-link", json=body)
        except AdminApiError as exc:
            message = exc.message
            for token in (pd_token, jira_token):  # never echo a token, even if a service did
                message = message.replace(token, "[token]")
            return console.redirect(request, "/self-link", error=f"Not linked: {message}")
        return console.redirect(request, "/self-link", notice=f"Linked: {show(answer['user'])}")

    return [
        Route("/self-link", page, methods=["GET"]),
        Route("/self-link", submit, methods=["POST"]),
    ]
