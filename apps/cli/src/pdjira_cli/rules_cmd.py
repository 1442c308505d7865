"""``pdjira rules list|validate|import|delete``: PagerDuty-style rules via the rules admin API
(``/rules`` on the rules listener, bearer ``rules_service.admin_token``)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from pdjira_common.rule_import import import_wrapper, wrapper_of

from pdjira_cli.admin_client import CONFIG_HELP, RULES, AdminError, connect, run

__all__ = ["RuleInFile", "listed_lines", "read_rules_file", "register"]


def register(commands: Any) -> None:
    rules = commands.add_parser("rules", help="PagerDuty-style rules (list, validate, import)")
    sub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")

    def action(name: str, help_: str, handler: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=help_)
        parser.add_argument("--config", help=CONFIG_HELP)
        parser.add_argument(
            "--url", help="rules service URL (default: from listen.rules in the config)"
        )
        parser.set_defaults(handler=lambda args: run(handler, args, RULES))
        return parser

    action("list", "list every rule (both kinds) with its state: active, disabled, refused", _list)
    validate = action("validate", "check rules against Jira and PagerDuty", _validate)
    validate.add_argument(
        "file",
        help="a pdjira config (its rules and pagerduty_rules), or a JSON/YAML file of rules",
    )
    importer = action("import", "add rules exported from PagerDuty's API", _import)
    importer.add_argument(
        "file", help='JSON/YAML: {"rule": {...}}, a bare rule or {"rules": [...]}'
    )
    importer.add_argument("--account", help="PagerDuty account id (default: the only one)")
    importer.add_argument("--instance", help="Jira instance id (default: the only one)")
    delete = action("delete", "delete a rule", _delete)
    delete.add_argument("rule_id", metavar="ID")


# ---------------------------------------------------------------------- the API


def _client(args: argparse.Namespace) -> httpx.Client:
    # Validation reads live catalogs through the writers: allow it more time than a lookup.
    return connect(RULES, args, timeout=60.0)[1]


class ApiRefused(AdminError):
    """The API answered with PagerDuty's error envelope; ``errors`` is its list."""

    def __init__(self, status: int, message: str, errors: list[str]) -> None:
        self.status = status
        self.message = message
        self.errors = errors
        lines = [f"rules API answered {status}: {message}", *(f"  {e}" for e in errors)]
        super().__init__("\n".join(lines))


def _check(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json() if response.content else None
    message, errors = response.text, []
    try:
        error = response.json().get("error") or {}
        message = error.get("message") or message
        errors = [str(e) for e in error.get("errors") or []]
    except (ValueError, AttributeError):
        pass
    raise ApiRefused(response.status_code, message, errors)


# ---------------------------------------------------------------------- files


@dataclass(frozen=True)
class RuleInFile:
    """One rule of a file: the wrapper to send and where it sits in the file."""

    where: str  # "$.pagerduty_rules[0]", "$.rules[2]", "$"
    wrapper: dict[str, Any]
    bare: bool  # the file holds the bare rule: "$.rule.x" in the API is "<where>.x" here

    def path(self, api_path: str) -> str:
        """The path of an API problem (``$.rule.config...``) in the file."""
        if self.bare and api_path.startswith("$.rule"):
            rest = api_path[len("$.rule") :]
        else:
            rest = api_path[1:]
        return self.where + rest

    @property
    def name(self) -> str:
        rule = self.wrapper.get("rule")
        return str(rule.get("name")) if isinstance(rule, dict) else "?"


def _item(where: str, data: Any) -> RuleInFile:
    return RuleInFile(where, wrapper_of(data), bare=not (isinstance(data, dict) and "rule" in data))


_CONFIG_KEYS = ("pagerduty_rules", "pagerduty_accounts", "jira_instances")


def _load(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())  # JSON is YAML too
    except OSError as exc:
        raise AdminError(f"cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise AdminError(f"{path} is neither JSON nor YAML: {exc}") from None


def _is_config(data: Any) -> bool:
    return isinstance(data, dict) and any(key in data for key in _CONFIG_KEYS)


def _simple(data: Any) -> list[Any]:
    rules = data.get("rules") if _is_config(data) else None
    return rules if isinstance(rules, list) else []


def simple_rules_of(path: Path) -> list[Any]:
    """A pdjira config's simple rules (``rules:``); none for other files."""
    return _simple(_load(path))


def read_rules_file(path: Path, *, simple_too: bool = False) -> list[RuleInFile]:
    """The rules of a pdjira config (``pagerduty_rules``), ``{"rules": [...]}``, ``{"rule":
    ...}`` or a bare rule (JSON or YAML); AdminError if it holds none (``simple_too``: a
    config holding only simple rules is fine)."""
    data = _load(path)
    if _is_config(data):
        raw = data.get("pagerduty_rules") or []
        if isinstance(raw, list) and (raw or (simple_too and _simple(data))):
            return [_item(f"$.pagerduty_rules[{i}]", r) for i, r in enumerate(raw)]
        raise AdminError(
            f"{path} is a pdjira config without pagerduty_rules"
            + ("" if simple_too else " (its rules: are read from the config at start)")
        )
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        return [_item(f"$.rules[{i}]", r) for i, r in enumerate(data["rules"])]
    if isinstance(data, dict) and ("rule" in data or "config" in data):
        return [_item("$", data)]
    raise AdminError(
        f'{path} holds no rules: expected pagerduty_rules: [...], {{"rules": [...]}}, '
        '{"rule": {...}} or a rule {"name": ..., "config": {...}}'
    )


# ---------------------------------------------------------------------- commands


def _list(args: argparse.Namespace) -> int:
    rules: list[dict[str, Any]] = []
    with _client(args) as client:
        offset = 0
        while True:
            page = _check(client.get("/rules", params={"limit": 100, "offset": offset}))
            rules.extend(page["rules"])
            if not page["more"]:
                break
            offset += page["limit"]
    for rule in rules:
        print("\n".join(listed_lines(rule)))
    if not rules:
        print("no rules")
    return 0


def listed_lines(rule: dict[str, Any]) -> list[str]:
    """One line per rule: id, account/instance, state (active / disabled / refused), kind
    (simple: the config's ``rules:``; pagerduty), where it comes from, name; a refused rule's
    problems indented under it (it is left out of every decision until fixed)."""
    ext = rule.get("pdjira") or {}
    state = ext.get("state") or ("active" if rule.get("enabled") else "disabled")
    kind = ext.get("kind") or "pagerduty"
    where = f"{ext.get('account')}/{ext.get('instance')}"
    source = ext.get("config_path") or ext.get("source", "?")
    lines = [f"{rule['id']}  {where}  {state:8}  {kind:9}  {source:18}  {rule['name']}"]
    lines += [f"    refused: {problem}" for problem in ext.get("refused") or []]
    return lines


def _validate(args: argparse.Namespace) -> int:
    items = read_rules_file(Path(args.file), simple_too=True)
    simple = simple_rules_of(Path(args.file))
    with _client(args) as client:
        body = {"rules": [item.wrapper for item in items], "simple_rules": simple}
        answer = _check(client.post("/rules/validate", json=body))
    problems = answer["problems"]
    found = [f"{items[p['index']].path(p['path'])}: {p['message']}" for p in problems]
    # Simple rules are named by their path in the config already ($.rules[0].on_resolve).
    found += [f"{p['path']}: {p['message']}" for p in answer.get("simple_problems", [])]
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} problem(s) in {args.file}", file=sys.stderr)
        return 1
    print(f"{len(items) + len(simple)} rules OK")
    return 0


def _import(args: argparse.Namespace) -> int:
    items = read_rules_file(Path(args.file))
    failed = 0
    with _client(args) as client:
        for item in items:
            wrapper = _import_body(item, args)
            try:
                created = _check(client.post("/rules", json=wrapper))
            except ApiRefused as exc:
                failed += 1
                print(f"{item.where} ({item.name}): {exc.message} ({exc.status})")
                for error in exc.errors:
                    print(f"  {_in_file(item, error)}")
                continue
            rule = created["rule"]
            print(f"{rule['id']}  {rule['name']}")
    if failed:
        print(f"{failed} of {len(items)} rules not imported", file=sys.stderr)
        return 1
    return 0


def _in_file(item: RuleInFile, error: str) -> str:
    """``$.rule.config.x: problem`` from the API as the path in the file."""
    path, sep, message = error.partition(": ")
    return f"{item.path(path)}: {message}" if sep and path.startswith("$") else error


def _import_body(item: RuleInFile, args: argparse.Namespace) -> dict[str, Any]:
    """The wrapper to POST (see :func:`pdjira_common.rule_import.import_wrapper`)."""
    return import_wrapper(
        item.wrapper, getattr(args, "account", None), getattr(args, "instance", None)
    )


def _delete(args: argparse.Namespace) -> int:
    with _client(args) as client:
        _check(client.delete(f"/rules/{args.rule_id}"))
    print(f"deleted {args.rule_id}")
    return 0
