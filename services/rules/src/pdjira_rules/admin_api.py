"""The rules admin API, in the shape of PagerDuty's Jira Server integration API (``/rules``).

Bearer token ``rules_service.admin_token``. Routes::

    GET    /rules?limit=25&offset=0&total=true  {"rules", "limit", "offset", "more", "total"}
                             (each rule's ``pdjira`` says its kind and state: active,
                             disabled, or refused with the problems)
    POST   /rules            {"rule": {...}} (+ account, instance, priority_map, ...) -> 200
    GET    /rules/{id}       {"rule": {...}, "account": ..., ...}
    PUT    /rules/{id}       replace -> 200
    DELETE /rules/{id}       -> 204
    POST   /rules/validate   {"rules": [...], "simple_rules": [...]}
                             -> {"problems": [{"index", "path", "message"}],
                                 "simple_problems": [...] (when simple_rules were sent)}
    GET    /rules/permissions  the Jira permissions the enabled rules need, checked live
                             -> {"checks": [{"instance", "project", "check", "ok", "message",
                                             "rules"}]}  (``pdjira doctor``)

``simple_rules`` are entries of a config's ``rules:`` (compiled and checked as the service
does at start); their problems' paths are the config's, e.g. ``$.rules[0].on_resolve``.

Listed rules carry ``id`` and our extension object ``pdjira`` (account, instance, source and
the other wrapper fields), so a listed rule imports unchanged. Errors use PagerDuty's
envelope: ``{"error": {"message": "...", "errors": ["<path>: <problem>", ...]}}``.

Every write is validated against live catalogs read from the writers; when they cannot be read
the write is refused (503), never stored unvalidated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from typing import Any, Final, Protocol
from urllib.parse import parse_qs

import msgspec
from pdjira_common.bearer import bearer_matches
from pdjira_common.config import RulesSettings, SyncRule
from pdjira_common.logging import get_logger

from pdjira_rules.catalog import Target, create_targets, responders_of
from pdjira_rules.permissions_needed import AccessFinding
from pdjira_rules.reads import ReadFailed
from pdjira_rules.rule_loading import RuleLoadError, config_problems, decode_wrapper
from pdjira_rules.rule_model import ConfigPlace, PdjiraRule, StoredRule, UserReference
from pdjira_rules.rule_validation import (
    JiraCatalog,
    PdCatalog,
    Problem,
    access_problems,
    validate_pdjira_rule,
)
from pdjira_rules.simple_rules import compile_simple_rule
from pdjira_rules.store import RuleConflict, RuleStore

__all__ = ["PREFIX", "CatalogSource", "RulesApi", "listed_json", "rule_json", "wrapper_json"]

PREFIX: Final = "/rules"
_log = get_logger(__name__)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
_MAX_BODY: Final = 4 * 1024 * 1024


class CatalogSource(Protocol):
    async def jira(self, instance: str, targets: Sequence[Target] = ()) -> JiraCatalog: ...

    async def pd(self, account: str, responders: Sequence[UserReference] = ()) -> PdCatalog: ...


class AccessSource(Protocol):
    """The live permission checks (``rules validate``, ``GET /rules/permissions``)."""

    async def findings(self, rules: Sequence[PdjiraRule]) -> list[AccessFinding]: ...


class _Simple:
    """An entry of a config's ``rules:`` sent for validation (index: its place there)."""

    def __init__(self, index: int, data: object) -> None:
        self.place = ConfigPlace(section="rules", index=index)
        self.data = data


class _Reply(Exception):
    """Answer with ``status`` and ``body`` now (errors, mostly)."""

    def __init__(self, status: int, body: object | None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _error(status: int, message: str, errors: Sequence[str] | None = None) -> _Reply:
    error: dict[str, object] = {"message": message}
    if errors is not None:
        error["errors"] = list(errors)
    return _Reply(status, {"error": error})


def _invalid(problems: Sequence[Problem | str]) -> _Reply:
    return _error(400, "Invalid Input Provided", [str(p) for p in problems])


def _extension(stored: StoredRule) -> dict[str, Any]:
    w = stored.wrapped
    return {
        "account": w.account,
        "instance": w.instance,
        "source": stored.source,
        "updated_at": stored.updated_at,
        # Config rules: where in the file ("$.rules[0]": a simple rule, compiled).
        "config_path": stored.place.path if stored.place is not None else None,
        "priority_map": w.priority_map,
        "field_templates": msgspec.to_builtins(w.field_templates),
        "resolution": w.resolution,
        "sync_priority": w.sync_priority,
        "urgency_map": w.urgency_map,
        "resolution_events": list(w.resolution_events),
        "all_services": w.all_services,
        "all_issue_types": w.all_issue_types,
    }


def rule_json(stored: StoredRule) -> dict[str, Any]:
    """PagerDuty's Rule JSON with ``id`` and our ``pdjira`` extension object."""
    body: dict[str, Any] = msgspec.to_builtins(stored.wrapped.rule)
    body["id"] = stored.id
    body["pdjira"] = _extension(stored)
    return body


def listed_json(stored: StoredRule, refused: Sequence[Problem] | None) -> dict[str, Any]:
    """A listed rule: :func:`rule_json` with its kind ("simple": the config's ``rules:``,
    compiled; "pagerduty": PagerDuty-style) and state ("active", "disabled", or "refused"
    with the problems: it is left out of every decision until fixed)."""
    body = rule_json(stored)
    simple = stored.place is not None and stored.place.section == "rules"
    state = "refused" if refused else "active" if stored.wrapped.rule.enabled else "disabled"
    body["pdjira"]["kind"] = "simple" if simple else "pagerduty"
    body["pdjira"]["state"] = state
    if refused:
        body["pdjira"]["refused"] = [str(p) for p in refused]
    return body


def wrapper_json(stored: StoredRule) -> dict[str, Any]:
    """``{"rule": {...}, "account": ..., "instance": ..., ...}``: what POST/PUT/GET answer."""
    extension = _extension(stored)
    del extension["source"], extension["updated_at"], extension["config_path"]
    return {"rule": rule_json(stored), **extension}


def _decode_json(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise _error(400, "Malformed json") from None


class RulesApi:
    """ASGI app serving :data:`PREFIX` and below."""

    def __init__(
        self,
        settings: RulesSettings,
        *,
        accounts: Sequence[str],
        instances: Sequence[str],
        store: RuleStore,
        catalogs: CatalogSource,
        access: AccessSource | None = None,
        refused: Callable[[], Mapping[str, Sequence[Problem]]] | None = None,
    ) -> None:
        self._refused = refused or dict  # rule id -> problems: config rules the catalogs refused
        self._settings = settings
        self._accounts = tuple(accounts)
        self._instances = tuple(instances)
        self._store = store
        self._catalogs = catalogs
        self._access = access

    @staticmethod
    def serves(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            status, body = await self._route(scope, receive)
        except _Reply as reply:
            status, body = reply.status, reply.body
        except Exception as exc:
            _log.exception("rules_api_failed", path=scope.get("path"), reason=str(exc))
            status, body = 500, {"error": {"message": "Internal error; see the rules log"}}
        payload = b"" if body is None else msgspec.json.encode(body)
        headers = [(b"content-length", str(len(payload)).encode())]
        if body is not None:
            headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    # ------------------------------------------------------------------ routing

    async def _route(self, scope: Scope, receive: Receive) -> tuple[int, object | None]:
        self._authorize(scope)
        method: str = scope["method"]
        parts = [p for p in str(scope["path"])[len(PREFIX) :].split("/") if p]
        if not parts:
            if method == "GET":
                return 200, self._list(parse_qs(scope.get("query_string", b"").decode()))
            if method == "POST":
                return 200, await self._create(await _read_body(receive))
            raise _error(405, "Method not allowed")
        if len(parts) != 1:
            raise _error(404, "Record not found")
        if parts[0] == "validate" and method == "POST":
            return 200, await self._validate(await _read_body(receive))
        if parts[0] == "permissions" and method == "GET":
            return 200, await self._permissions()
        rule_id = parts[0]
        if method == "GET":
            return 200, self._get(rule_id)
        if method == "PUT":
            return 200, await self._replace(rule_id, await _read_body(receive))
        if method == "DELETE":
            await self._delete(rule_id)
            return 204, None
        raise _error(405, "Method not allowed")

    def _authorize(self, scope: Scope) -> None:
        token = self._settings.admin_token
        if token is None:
            raise _error(
                503,
                "The rules admin API is off: set rules_service.admin_token in the config "
                "(e.g. ${env:PDJIRA_RULES_TOKEN}) and restart the rules service",
            )
        given = b""
        for name, value in scope.get("headers", []):
            if name.lower() == b"authorization":
                given = value
        if not bearer_matches(given, token.reveal()):
            raise _error(401, "Authorization error")

    # ------------------------------------------------------------------ handlers

    def _list(self, query: dict[str, list[str]]) -> dict[str, Any]:
        limit = _int_param(query, "limit", 25, 1, 100)
        offset = _int_param(query, "offset", 0, 0, None)
        rules = self._store.current()
        page = rules[offset : offset + limit]
        total = query.get("total", ["false"])[-1].lower() == "true"
        refused = self._refused()
        return {
            "rules": [listed_json(r, refused.get(r.id)) for r in page],
            "limit": limit,
            "offset": offset,
            "more": offset + limit < len(rules),
            "total": len(rules) if total else None,
        }

    def _get(self, rule_id: str) -> dict[str, Any]:
        stored = self._store.get(rule_id)
        if stored is None:
            raise _error(404, "Record not found")
        return wrapper_json(stored)

    async def _create(self, body: bytes) -> dict[str, Any]:
        raw = _decode_json(body)
        if len(self._store) >= self._settings.max_rules:
            raise _invalid(
                [
                    f"$: there are already {len(self._store)} rules, the most allowed "
                    f"(rules_service.max_rules = {self._settings.max_rules}); delete one first"
                ]
            )
        wrapped = await self._valid_one(raw)
        stored = await self._store.create(wrapped)
        _log.info("rule_created", rule_id=stored.id, name=stored.name)
        return wrapper_json(stored)

    async def _replace(self, rule_id: str, body: bytes) -> dict[str, Any]:
        if self._store.get(rule_id) is None:
            raise _error(404, "Record not found")
        raw = _decode_json(body)
        wrapped = await self._valid_one(raw)
        try:
            stored = await self._store.replace(rule_id, wrapped)
        except RuleConflict as exc:
            raise _error(409, str(exc)) from None
        if stored is None:
            raise _error(404, "Record not found")
        _log.info("rule_replaced", rule_id=stored.id, name=stored.name)
        return wrapper_json(stored)

    async def _delete(self, rule_id: str) -> None:
        try:
            deleted = await self._store.delete(rule_id)
        except RuleConflict as exc:
            raise _error(409, str(exc)) from None
        if deleted is None:
            raise _error(404, "Record not found")
        _log.info("rule_deleted", rule_id=rule_id, name=deleted.name)

    async def _validate(self, body: bytes) -> dict[str, Any]:
        raw = _decode_json(body)
        if (
            not isinstance(raw, dict)
            or not ({"rules", "simple_rules"} & raw.keys())
            or not isinstance(raw.get("rules", []), list)
        ):
            raise _invalid(['$.rules: expected {"rules": [{"rule": {...}}, ...]}'])
        if not isinstance(raw.get("simple_rules", []), list):
            raise _invalid(['$.simple_rules: expected a list of the config\'s "rules:" entries'])
        rules: list[object] = raw.get("rules", [])
        simple: list[object] = raw.get("simple_rules", [])
        items = [*rules, *(_Simple(i, s) for i, s in enumerate(simple))]
        decoded, problems = await self._check(items)
        problems = sorted([*problems, *await self._access_problems(items, decoded)], key=_first)
        found: dict[str, list[dict[str, object]]] = {"problems": []}
        if "simple_rules" in raw:
            found["simple_problems"] = []
        for i, p in problems:
            kind, index = ("problems", i) if i < len(rules) else ("simple_problems", i - len(rules))
            found[kind].append({"index": index, "path": p.path, "message": p.message})
        return found

    async def _permissions(self) -> dict[str, Any]:
        """The Jira permissions (and service desk agent role) the enabled rules need, checked
        live through the jira-writers."""
        if self._access is None:
            raise _error(503, "Permission checks are not available in this rules service")
        rules = [r.wrapped for r in self._store.current() if r.wrapped.rule.enabled]
        findings = await self._access.findings(rules)
        return {
            "checks": [
                {
                    "instance": f.instance,
                    "project": f.project,
                    "check": f.check,
                    "ok": f.ok,
                    "message": f.message,
                    "rules": list(dict.fromkeys(u.rule for u in f.uses)),
                }
                for f in findings
            ]
        }

    async def _access_problems(
        self, items: Sequence[object], decoded: Sequence[PdjiraRule | None]
    ) -> list[tuple[int, Problem]]:
        """The permission problems of the decoded rules (each where the rule needs it)."""
        valid = [w for w in decoded if w is not None]
        if self._access is None or not valid:
            return []
        findings = await self._access.findings(valid)
        found: list[tuple[int, Problem]] = []
        for i, wrapped in enumerate(decoded):
            if wrapped is None:
                continue
            mine = access_problems(findings, wrapped)
            item = items[i]
            if isinstance(item, _Simple):
                mine = config_problems(mine, wrapped, item.place)
            found.extend((i, p) for p in mine)
        return found

    # ------------------------------------------------------------------ validation

    async def _valid_one(self, raw: object) -> PdjiraRule:
        if not isinstance(raw, dict) or "rule" not in raw:
            raise _invalid(['$.rule: missing; send {"rule": {...}}'])
        decoded, problems = await self._check([raw])
        if problems:
            raise _invalid([p for _, p in problems])
        wrapped = decoded[0]
        assert wrapped is not None
        return wrapped

    async def problems(self, items: Sequence[object]) -> list[tuple[int, Problem]]:
        """(index, problem) for every item; ReadFailed (503) when catalogs cannot be read."""
        _, problems = await self._check(items)
        return problems

    def _decode(self, raw: object) -> PdjiraRule:
        """A wrapper, or a simple rule compiled; RuleLoadError."""
        if not isinstance(raw, _Simple):
            return decode_wrapper(raw, self._accounts, self._instances)
        try:
            rule = msgspec.convert(raw.data, SyncRule)
        except msgspec.ValidationError as exc:
            # msgspec says "<what> - at `$.x`": the path inside the simple rule.
            message, _, at = str(exc).partition(" - at `$")
            path = raw.place.path + at.rstrip("`")
            raise RuleLoadError([Problem(path=path, message=message)]) from None
        try:
            return decode_wrapper(compile_simple_rule(rule), self._accounts, self._instances)
        except RuleLoadError as exc:
            raise RuleLoadError(config_problems(exc.problems, None, raw.place)) from None

    async def _check(
        self, items: Sequence[object]
    ) -> tuple[list[PdjiraRule | None], list[tuple[int, Problem]]]:
        problems: list[tuple[int, Problem]] = []
        decoded: list[PdjiraRule | None] = []
        for i, raw in enumerate(items):
            try:
                decoded.append(self._decode(raw))
            except RuleLoadError as exc:
                decoded.append(None)
                problems.extend((i, p) for p in exc.problems)
        targets: dict[str, list[Target]] = defaultdict(list)
        accounts: set[str] = set()
        for wrapped in decoded:
            if wrapped is not None:
                targets[wrapped.instance].extend(create_targets([wrapped.rule]))
                accounts.add(wrapped.account)
        try:
            jira = {i: await self._catalogs.jira(i, t) for i, t in sorted(targets.items())}
            pd = {
                a: await self._catalogs.pd(
                    a, responders_of(w.rule for w in decoded if w is not None and w.account == a)
                )
                for a in sorted(accounts)
            }
        except ReadFailed as exc:
            raise _error(503, f"Cannot validate against Jira and PagerDuty: {exc}") from None
        for i, wrapped in enumerate(decoded):
            if wrapped is not None:
                found = validate_pdjira_rule(wrapped, jira[wrapped.instance], pd[wrapped.account])
                item = items[i]
                if isinstance(item, _Simple):
                    found = config_problems(found, wrapped, item.place)
                problems.extend((i, p) for p in found)
        problems.sort(key=lambda ip: ip[0])
        return decoded, problems


def _first(found: tuple[int, Problem]) -> int:
    return found[0]


def _int_param(
    query: dict[str, list[str]], name: str, default: int, low: int, high: int | None
) -> int:
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        raise _invalid([f"{name}: must be a whole number, got {values[-1]!r}"]) from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _invalid([f"{name}: must be {bounds}, got {value}"])
    return value


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > _MAX_BODY:
            raise _error(413, f"Request body larger than {_MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
