"""``pdjira users list|link|unlink|automap|import|self-link``: the user mapping, via the admin
API (``self-link``: a person links their own users with their own tokens, no admin token)."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from pdjira_common.config import ConfigError, load_config
from pdjira_common.user_csv import UserCsvError, parse_users_csv_text

from pdjira_cli.admin_client import (
    CONFIG_ENV,
    AdminError,
    add_common,
    admin_client,
    check,
    pick,
    run,
)

__all__ = ["parse_users_csv", "read_token", "register"]


def register(commands: Any) -> None:
    users = commands.add_parser("users", help="PagerDuty <-> Jira user mapping")
    sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    def action(name: str, help_: str, handler: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(name, help=help_)
        add_common(parser)
        parser.add_argument("--account", help="PagerDuty account id (default: the only one)")
        parser.add_argument("--instance", help="Jira instance id (default: the only one)")
        parser.set_defaults(handler=lambda args: run(handler, args))
        return parser

    action("list", "list manual links", _list)
    link = action("link", "link a PagerDuty user to a Jira user by hand", _link)
    link.add_argument("pd_user", help="PagerDuty user id, e.g. PXXXXXX")
    link.add_argument("jira_user", help="Jira user name (login)")
    unlink = action("unlink", "remove a manual link", _unlink)
    unlink.add_argument("pd_user")
    automap = action("automap", "map PagerDuty users by e-mail now", _automap)
    automap.add_argument("pd_users", nargs="+", metavar="PD_USER")
    automap.add_argument("--save", action="store_true", help="keep each match as a manual link")
    importer = action("import", "link users from a PagerDuty user CSV", _import)
    importer.add_argument("file", help="CSV with id and/or email columns, optional 'Jira user'")
    _register_self_link(sub)


def _register_self_link(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "self-link",
        help="link your own PagerDuty and Jira users (no admin token: your own tokens prove it)",
        description="Link your PagerDuty user to your Jira user. You prove both with your own "
        "PagerDuty user API key (My Profile > User Settings) and Jira personal access token "
        "(Profile > Personal Access Tokens): each is checked once and never stored. Give them "
        "in files or environment variables (never on the command line), or type them.",
    )
    parser.add_argument(
        "--config",
        help=f"the pdjira YAML config, finds the mapping service (default ${CONFIG_ENV})",
    )
    parser.add_argument("--url", help="mapping service URL (default: listen.mapping of --config)")
    parser.add_argument("--account", help="PagerDuty account id (default: the only one)")
    parser.add_argument("--instance", help="Jira instance id (default: the only one)")
    for side, what in (("pd", "PagerDuty user API key"), ("jira", "Jira personal access token")):
        parser.add_argument(f"--{side}-token-file", metavar="FILE", help=f"file with your {what}")
        parser.add_argument(
            f"--{side}-token-env", metavar="VAR", help=f"environment variable with your {what}"
        )
    parser.set_defaults(handler=lambda args: run(_self_link, args))


def _pair(args: argparse.Namespace, config: Any) -> str:
    account = pick("account", args.account, [a.id for a in config.pagerduty_accounts])
    instance = pick("instance", args.instance, [j.id for j in config.jira_instances])
    return f"{account}/{instance}"


def _show(user: dict[str, Any]) -> str:
    pd, jira = user["pd_user"], user["jira_user"]
    email = f" <{pd['email']}>" if pd.get("email") else ""
    where = f"{user['account']}/{user['instance']}"
    return f"{where}  {pd['id']}{email}  ->  {jira['name']} ({jira['key']})"


def _list(args: argparse.Namespace) -> int:
    _, client = admin_client(args)
    with client:
        params = {k: v for k, v in (("account", args.account), ("instance", args.instance)) if v}
        users = check(client.get("/admin/v1/users", params=params))["users"]
    for user in users:
        print(_show(user))
    if not users:
        print("no manual links")
    return 0


def _link(args: argparse.Namespace) -> int:
    config, client = admin_client(args)
    with client:
        path = f"/admin/v1/users/{_pair(args, config)}/{args.pd_user}"
        user = check(client.put(path, json={"jira_user": args.jira_user}))["user"]
    print(f"linked: {_show(user)}")
    return 0


def _unlink(args: argparse.Namespace) -> int:
    config, client = admin_client(args)
    with client:
        user = check(client.delete(f"/admin/v1/users/{_pair(args, config)}/{args.pd_user}"))
    print(f"unlinked: {_show(user['user'])}")
    return 0


def _automap(args: argparse.Namespace) -> int:
    config, client = admin_client(args)
    with client:
        body = {"pd_user_ids": args.pd_users, "save": args.save}
        results = check(client.post(f"/admin/v1/users/{_pair(args, config)}/automap", json=body))
    missed = 0
    for item in results["results"]:
        reply = item["result"]
        if reply.get("source") == "email":
            print(f"{item['pd_user_id']}  ->  {reply['jira_user']['name']} ({reply['reason']})")
        else:
            missed += 1
            print(f"{item['pd_user_id']}  not mapped: {reply['reason']}")
    return 1 if missed else 0


def parse_users_csv(path: Path) -> list[dict[str, str | None]]:
    """Rows of ``path`` as {pd_user_id, email, name, jira_user}; AdminError if unusable."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise AdminError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return parse_users_csv_text(text, str(path))
    except UserCsvError as exc:
        raise AdminError(str(exc)) from None


def _import(args: argparse.Namespace) -> int:
    rows = parse_users_csv(Path(args.file))
    config, client = admin_client(args)
    with client:
        path = f"/admin/v1/users/{_pair(args, config)}/import"
        results = check(client.post(path, json={"rows": rows}))["results"]
    failed = 0
    for item in results:
        line = item["row"] + 2  # header is line 1
        if item["ok"]:
            print(f"line {line}: linked {_show(item['user'])}")
        else:
            failed += 1
            print(f"line {line}: {item['error']}")
    print(json.dumps({"linked": len(results) - failed, "failed": failed}))
    return 1 if failed else 0


def read_token(
    what: str,
    *,
    file: str | None,
    env: str | None,
    environ: Mapping[str, str],
    ask: Callable[[str], str] | None,
) -> str:
    """A token from ``file``, else the variable ``env``, else typed (``ask``: only on a tty)."""
    if file:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise AdminError(f"cannot read the {what} from {file}: {exc.strerror}") from None
    elif env:
        value = environ.get(env, "").strip()
        if not value:
            raise AdminError(f"the environment variable {env} (the {what}) is not set or empty")
    elif ask is not None:
        value = ask(f"{what}: ").strip()
    else:
        raise AdminError(
            f"no {what}: give it with a --*-token-file or --*-token-env option "
            "(standard input is not a terminal to type it)"
        )
    if not value:
        raise AdminError(f"the {what} is empty")
    return value


def _self_link_target(args: argparse.Namespace) -> tuple[str, str, str]:
    """The mapping URL, account and instance (from --config, or --url with both ids)."""
    if args.config or (os.environ.get(CONFIG_ENV) and not args.url):
        try:
            config = load_config(args.config or os.environ[CONFIG_ENV])
        except ConfigError as exc:
            raise AdminError(str(exc)) from None
        account = pick("account", args.account, [a.id for a in config.pagerduty_accounts])
        instance = pick("instance", args.instance, [j.id for j in config.jira_instances])
        listen = config.listen.mapping
        host = "127.0.0.1" if listen.host in ("0.0.0.0", "::", "") else listen.host
        return args.url or f"http://{host}:{listen.port}", account, instance
    if not (args.url and args.account and args.instance):
        raise AdminError(
            f"give --config (or set {CONFIG_ENV}), or --url with --account and --instance"
        )
    return args.url, args.account, args.instance


def _self_link(args: argparse.Namespace) -> int:
    url, account, instance = _self_link_target(args)
    ask = getpass.getpass if sys.stdin.isatty() else None
    pd_token, jira_token = (
        read_token(what, file=file, env=env, environ=os.environ, ask=ask)
        for what, file, env in (
            ("PagerDuty user API key", args.pd_token_file, args.pd_token_env),
            ("Jira personal access token", args.jira_token_file, args.jira_token_env),
        )
    )
    body = {
        "account": account,
        "instance": instance,
        "pd_token": pd_token,
        "jira_token": jira_token,
    }
    with httpx.Client(base_url=url, timeout=30.0) as client:
        user = check(client.post("/admin/v1/users/self-link", json=body))["user"]
    print(f"linked: {_show(user)}")
    return 0
