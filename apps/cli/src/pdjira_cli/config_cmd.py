"""``pdjira config check FILE``: validate a configuration file without starting anything."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pdjira_common.config import ConfigError, load_config

__all__ = ["register"]


def register(commands: Any) -> None:
    config = commands.add_parser("config", help="work with the configuration file")
    sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="validate FILE and print a summary")
    check.add_argument("file")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    accounts = ", ".join(a.id for a in config.pagerduty_accounts) or "none"
    instances = ", ".join(f"{j.id} ({j.base_url})" for j in config.jira_instances) or "none"
    # Both kinds are decided by one engine (the simple rules compiled); checks that need the
    # live Jira and PagerDuty are `pdjira rules validate FILE`.
    rules = f"{len(config.rules)} simple, {len(config.pagerduty_rules)} PagerDuty-style"
    print(f"ok: PagerDuty accounts: {accounts}; Jira instances: {instances}; rules: {rules}")
    return 0
