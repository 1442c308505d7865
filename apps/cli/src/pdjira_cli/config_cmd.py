"""``pdjira config check FILE``: validate a configuration file without starting anything.

Checks what the services check at start, with their own code: the file's structure and values
(every service), and both kinds of rules (``rules:`` compiled, ``pagerduty_rules:``) with their
JQL syntax, templates and actions (the rules service refuses to start on any of these). What
needs the live Jira and PagerDuty (do the statuses exist?) is ``pdjira rules validate FILE``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pdjira_common.config import ConfigError, load_config
from pdjira_rules.rule_loading import RuleLoadError, rules_of_config

__all__ = ["register"]


def register(commands: Any) -> None:
    config = commands.add_parser("config", help="work with the configuration file")
    sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = sub.add_parser(
        "check", help="validate FILE as the services do at start and print a summary"
    )
    check.add_argument("file")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        rules = rules_of_config(config)
    except RuleLoadError as exc:
        print(
            f"{len(exc.problems)} problem(s) in the rules of {args.file} (the rules service "
            "would refuse to start):",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    accounts = ", ".join(a.id for a in config.pagerduty_accounts) or "none"
    instances = ", ".join(f"{j.id} ({j.base_url})" for j in config.jira_instances) or "none"
    counted = f"{len(config.rules)} simple, {len(config.pagerduty_rules)} PagerDuty-style"
    print(
        f"ok: PagerDuty accounts: {accounts}; Jira instances: {instances}; rules: {counted} "
        f"({len(rules)} loaded; `pdjira rules validate {args.file}` checks them against the "
        "live Jira and PagerDuty)"
    )
    return 0
