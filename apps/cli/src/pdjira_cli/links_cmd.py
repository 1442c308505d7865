"""``pdjira links show|unlink|export``: the incident <-> issue registry, via the admin API."""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from pdjira_cli.admin_client import add_common, admin_client, check, pick, run

__all__ = ["register"]

_ISSUE_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-\d+$")


def register(commands: Any) -> None:
    links = commands.add_parser("links", help="incident <-> issue links")
    sub = links.add_subparsers(dest="links_command", required=True, metavar="ACTION")
    for name, help_, handler in (
        ("show", "show the link of an incident id or issue key", _show),
        ("unlink", "remove the link of an incident id or issue key", _unlink),
    ):
        parser = sub.add_parser(name, help=help_)
        add_common(parser)
        parser.add_argument("target", help="PagerDuty incident id, or Jira issue key (OPS-12)")
        parser.add_argument("--account", help="PagerDuty account id (default: the only one)")
        parser.add_argument("--instance", help="Jira instance id (default: the only one)")
        parser.set_defaults(handler=lambda args, h=handler: run(h, args))
    export = sub.add_parser("export", help="every link, one JSON object per line")
    add_common(export)
    export.set_defaults(handler=lambda args: run(_export, args))


def _path(args: argparse.Namespace, config: Any) -> str:
    if _ISSUE_KEY.match(args.target):
        instance = pick("instance", args.instance, [j.id for j in config.jira_instances])
        return f"/admin/v1/links/issue/{instance}/{args.target.upper()}"
    account = pick("account", args.account, [a.id for a in config.pagerduty_accounts])
    return f"/admin/v1/links/incident/{account}/{args.target}"


def _show(args: argparse.Namespace) -> int:
    config, client = admin_client(args)
    with client:
        view = check(client.get(_path(args, config)))
    link = view["link"]
    incident, issue = link["incident"], link["issue"]
    print(f"incident {incident['account']}/{incident['incident_id']}")
    print(f"issue    {issue['instance']}/{issue['key']} (id {issue['issue_id']})")
    print(f"linked   {link['created_at']}")
    state = view.get("state") or {}
    for side, label in (("jira", "Jira"), ("pd", "PagerDuty")):
        if state.get(f"{side}_status"):
            print(f"last {label} write: {state[f'{side}_status']} at {state[f'{side}_written_at']}")
    for pair in view.get("pairs") or []:
        print(f"note {pair['note_id']} <-> comment {pair['comment_id']}")
    return 0


def _unlink(args: argparse.Namespace) -> int:
    config, client = admin_client(args)
    with client:
        removed = check(client.delete(_path(args, config)))["removed"]
    print(
        f"unlinked incident {removed['incident']['incident_id']} "
        f"from issue {removed['issue']['key']}"
    )
    return 0


def _export(args: argparse.Namespace) -> int:
    _, client = admin_client(args)
    count = 0
    with client, client.stream("GET", "/admin/v1/links") as response:
        if not response.is_success:
            response.read()
            check(response)
        for line in response.iter_lines():
            if line:
                sys.stdout.write(line + "\n")
                count += 1
    print(json.dumps({"links": count}), file=sys.stderr)
    return 0
