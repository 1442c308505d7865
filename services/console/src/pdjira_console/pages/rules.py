"""Rules: both kinds (the config's simple ``rules:`` and PagerDuty-style rules) with their state
(active / disabled / refused and why); view, create, edit (validated live against the Jira and
PagerDuty catalogs by the rules admin API: its problems name what exists), import PagerDuty's
exported JSON, delete. Everything goes through the rules admin API (``/rules``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import yaml
from pdjira_common.rule_import import import_wrapper, wrapper_of
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pdjira_console.context import AdminApiError, Console, NavEntry

__all__ = [
    "NAV",
    "ApiAnswer",
    "FormProblem",
    "editable_text",
    "exported_rules",
    "parse_rule_text",
    "problem_of",
    "routes",
]

NAV = NavEntry("Rules", "/rules")
PAGE_SIZE = 100
# Validation reads live catalogs through the writers: allow more than a lookup.
VALIDATE_TIMEOUT = 60.0
# The listed rule's read-only fields: left out of the text to edit.
_READ_ONLY = ("id", "pdjira")


@dataclass(frozen=True, slots=True)
class FormProblem:
    """One problem shown next to the form: where (a JSON path, or "") and what."""

    path: str
    message: str


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    """A rules admin API answer: its status and JSON, or the refusal's message and errors."""

    status: int
    body: Any = None
    message: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status < 400


def problem_of(error: str) -> FormProblem:
    """``"$.rule.x: problem"`` (the API's ``errors``) as a path and a message."""
    path, sep, message = error.partition(": ")
    if sep and path.startswith("$"):
        return FormProblem(path, message)
    return FormProblem("", error)


def parse_rule_text(text: str) -> tuple[dict[str, Any] | None, list[FormProblem]]:
    """The form's text (YAML or JSON: JSON is YAML too) as the wrapper ``{"rule": {...}}`` (a
    bare rule is wrapped); or the problems saying what is wrong with it."""
    if not text.strip():
        return None, [FormProblem("", "the rule is empty: paste or write it as YAML or JSON")]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [FormProblem("", f"neither YAML nor JSON: {exc}")]
    if not isinstance(data, dict):
        return None, [
            FormProblem("$", 'expected a rule {"name": ..., "config": {...}} or {"rule": {...}}')
        ]
    wrapper = wrapper_of(data)
    if not isinstance(wrapper.get("rule"), dict):
        return None, [FormProblem("$.rule", "expected an object with name and config")]
    return wrapper, []


def exported_rules(text: str) -> tuple[list[dict[str, Any]], list[FormProblem]]:
    """PagerDuty's exported JSON (``{"rule": ...}`` or ``{"rules": [...]}``, YAML too) as the
    wrappers to import; or the problems."""
    if not text.strip():
        return [], [FormProblem("", 'paste PagerDuty\'s JSON: {"rule": ...} or {"rules": [...]}')]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [], [FormProblem("", f"neither JSON nor YAML: {exc}")]
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        items = data["rules"]
    elif isinstance(data, dict) and ("rule" in data or "config" in data):
        items = [data]
    else:
        return [], [FormProblem("$", 'expected {"rule": {...}} or {"rules": [...]}')]
    if not items:
        return [], [FormProblem("$.rules", "the list is empty: nothing to import")]
    return [wrapper_of(item) for item in items], []


def editable_text(wrapper: dict[str, Any]) -> str:
    """A stored rule's wrapper as YAML to edit: without its id, our extension object and the
    account/instance (the form's selects hold those)."""
    body = {k: v for k, v in wrapper.items() if k not in ("account", "instance")}
    rule = body.get("rule")
    if isinstance(rule, dict):
        body["rule"] = {k: v for k, v in rule.items() if k not in _READ_ONLY}
    dumped: str = yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    return dumped


def _answer(response: httpx.Response) -> ApiAnswer:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.status_code < 400:
        return ApiAnswer(response.status_code, body)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        errors = [str(e) for e in error.get("errors") or []]
        message = str(error.get("message") or "")
        return ApiAnswer(response.status_code, body, message, errors)
    return ApiAnswer(response.status_code, body, Console.api_error(response))


def _form_text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def routes(console: Console) -> list[Route]:
    accounts = [a.id for a in console.config.pagerduty_accounts]
    instances = [i.id for i in console.config.jira_instances]

    async def send(method: str, path: str, body: object | None = None) -> ApiAnswer:
        """A rules admin API call; AdminApiError when the service does not answer."""
        try:
            response = await console.rules.request(
                method,
                path,
                content=None if body is None else msgspec.json.encode(body),
                headers={"content-type": "application/json"} if body is not None else None,
                timeout=VALIDATE_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise AdminApiError(
                f"the rules service did not answer ({type(exc).__name__}): is it running and "
                "listen.rules in the console's config right?"
            ) from exc
        return _answer(response)

    def refused(answer: ApiAnswer) -> list[FormProblem]:
        problems = [problem_of(e) for e in answer.errors]
        if not problems:
            hint = ""
            if answer.status == 503:
                hint = " (the catalogs could not be read or the admin API is off)"
            problems = [FormProblem("", f"{answer.message or 'refused'}{hint}")]
        return problems

    async def validate(wrapper: dict[str, Any]) -> list[FormProblem]:
        answer = await send("POST", "/rules/validate", {"rules": [wrapper]})
        if not answer.ok:
            return refused(answer)
        found = answer.body.get("problems", []) if isinstance(answer.body, dict) else []
        return [FormProblem(str(p.get("path", "")), str(p.get("message", ""))) for p in found]

    def form(
        request: Request,
        *,
        rule_id: str | None,
        text: str,
        account: str,
        instance: str,
        problems: list[FormProblem] | None = None,
        checked: bool = False,
        status: int = 200,
    ) -> Response:
        return console.render(
            request,
            "rules_form.html",
            status=status,
            rule_id=rule_id,
            text=text,
            account=account,
            instance=instance,
            accounts=accounts,
            instances=instances,
            problems=problems or [],
            checked=checked,
        )

    async def submitted(request: Request, rule_id: str | None) -> Response:
        data = await request.form()
        text = _form_text(data, "rule")
        account = _form_text(data, "account")
        instance = _form_text(data, "instance")
        action = _form_text(data, "action") or "save"

        def again(problems: list[FormProblem], status: int, checked: bool = False) -> Response:
            return form(
                request,
                rule_id=rule_id,
                text=text,
                account=account,
                instance=instance,
                problems=problems,
                checked=checked,
                status=status,
            )

        wrapper, problems = parse_rule_text(text)
        if wrapper is None:
            return again(problems, 400)
        wrapper = import_wrapper(wrapper, account or None, instance or None)
        try:
            if action == "validate":
                problems = await validate(wrapper)
                status = 200 if not problems else 400
                return again(problems, status, checked=True)
            if rule_id is None:
                answer = await send("POST", "/rules", wrapper)
            else:
                answer = await send("PUT", f"/rules/{rule_id}", wrapper)
        except AdminApiError as exc:
            return again([FormProblem("", exc.message)], 503)
        if not answer.ok:
            return again(refused(answer), 400)
        saved = answer.body["rule"]
        verb = "created" if rule_id is None else "saved"
        return console.redirect(
            request, f"/rules/{saved['id']}", notice=f"Rule {saved['name']} {verb}"
        )

    async def listing(request: Request) -> Response:
        rules: list[dict[str, Any]] = []
        offset = 0
        try:
            while True:
                page = await console.get_json(
                    console.rules, "/rules", params={"limit": PAGE_SIZE, "offset": offset}
                )
                rules.extend(page["rules"])
                if not page["more"]:
                    break
                offset += page["limit"]
        except AdminApiError as exc:
            return console.render(request, "rules.html", rules=[], error=exc.message)
        return console.render(request, "rules.html", rules=rules, error="")

    async def new(request: Request) -> Response:
        return form(
            request,
            rule_id=None,
            text="",
            account=accounts[0] if accounts else "",
            instance=instances[0] if instances else "",
        )

    async def create(request: Request) -> Response:
        return await submitted(request, None)

    async def stored(request: Request) -> tuple[dict[str, Any] | None, Response | None]:
        rule_id = request.path_params["rule_id"]
        try:
            return await console.get_json(console.rules, f"/rules/{rule_id}"), None
        except AdminApiError as exc:
            missing = exc.status == 404
            error = f"There is no rule {rule_id} (deleted?)" if missing else exc.message
            return None, console.redirect(request, "/rules", error=error)

    async def state_of(rule_id: str) -> dict[str, Any]:
        """The listed rule's ``pdjira`` (kind, state, refused): only the list carries it."""
        offset = 0
        while True:
            page = await console.get_json(
                console.rules, "/rules", params={"limit": PAGE_SIZE, "offset": offset}
            )
            for rule in page["rules"]:
                if rule.get("id") == rule_id:
                    ext: dict[str, Any] = rule.get("pdjira") or {}
                    return ext
            if not page["more"]:
                return {}
            offset += page["limit"]

    async def view(request: Request) -> Response:
        wrapper, failed = await stored(request)
        if wrapper is None:
            assert failed is not None
            return failed
        rule = wrapper["rule"]
        try:
            ext = await state_of(rule["id"])
        except AdminApiError:
            ext = rule.get("pdjira") or {}
        return console.render(
            request,
            "rules_view.html",
            rule=rule,
            ext=ext,
            wrapper=wrapper,
            text=editable_text(wrapper),
            as_json=msgspec.json.format(msgspec.json.encode(wrapper)).decode(),
        )

    async def edit(request: Request) -> Response:
        wrapper, failed = await stored(request)
        if wrapper is None:
            assert failed is not None
            return failed
        return form(
            request,
            rule_id=wrapper["rule"]["id"],
            text=editable_text(wrapper),
            account=str(wrapper.get("account") or ""),
            instance=str(wrapper.get("instance") or ""),
        )

    async def save(request: Request) -> Response:
        return await submitted(request, request.path_params["rule_id"])

    async def confirm_delete(request: Request) -> Response:
        wrapper, failed = await stored(request)
        if wrapper is None:
            assert failed is not None
            return failed
        return console.render(request, "rules_delete.html", rule=wrapper["rule"])

    async def delete(request: Request) -> Response:
        rule_id = request.path_params["rule_id"]
        try:
            answer = await send("DELETE", f"/rules/{rule_id}")
        except AdminApiError as exc:
            return console.redirect(request, f"/rules/{rule_id}", error=exc.message)
        if not answer.ok:
            why = "; ".join([answer.message, *answer.errors])
            return console.redirect(
                request, f"/rules/{rule_id}", error=f"Not deleted ({answer.status}): {why}"
            )
        return console.redirect(request, "/rules", notice=f"Rule {rule_id} deleted")

    def import_form(
        request: Request,
        text: str = "",
        account: str = "",
        instance: str = "",
        results: list[dict[str, Any]] | None = None,
        problems: list[FormProblem] | None = None,
        status: int = 200,
    ) -> Response:
        return console.render(
            request,
            "rules_import.html",
            status=status,
            text=text,
            account=account,
            instance=instance,
            accounts=accounts,
            instances=instances,
            results=results or [],
            problems=problems or [],
        )

    async def import_page(request: Request) -> Response:
        return import_form(request)

    async def import_rules(request: Request) -> Response:
        data = await request.form()
        text = _form_text(data, "export")
        account = _form_text(data, "account")
        instance = _form_text(data, "instance")
        wrappers, problems = exported_rules(text)
        if problems:
            return import_form(request, text, account, instance, problems=problems, status=400)
        results: list[dict[str, Any]] = []
        try:
            for wrapper in wrappers:
                body = import_wrapper(wrapper, account or None, instance or None)
                rule = body.get("rule")
                name = str(rule.get("name")) if isinstance(rule, dict) else "?"
                answer = await send("POST", "/rules", body)
                if answer.ok:
                    created = answer.body["rule"]
                    results.append({"name": name, "id": created["id"], "problems": []})
                else:
                    results.append({"name": name, "id": None, "problems": refused(answer)})
        except AdminApiError as exc:
            problems = [FormProblem("", exc.message)]
            return import_form(request, text, account, instance, problems=problems, status=503)
        failed = [r for r in results if r["id"] is None]
        if not failed:
            names = ", ".join(r["name"] for r in results)
            return console.redirect(
                request, "/rules", notice=f"Imported {len(results)} rule(s): {names}"
            )
        return import_form(request, text, account, instance, results=results, status=400)

    return [
        Route("/rules", listing, methods=["GET"]),
        Route("/rules/new", new, methods=["GET"]),
        Route("/rules/new", create, methods=["POST"]),
        Route("/rules/import", import_page, methods=["GET"]),
        Route("/rules/import", import_rules, methods=["POST"]),
        Route("/rules/{rule_id}", view, methods=["GET"]),
        Route("/rules/{rule_id}/edit", edit, methods=["GET"]),
        Route("/rules/{rule_id}/edit", save, methods=["POST"]),
        Route("/rules/{rule_id}/delete", confirm_delete, methods=["GET"]),
        Route("/rules/{rule_id}/delete", delete, methods=["POST"]),
    ]
