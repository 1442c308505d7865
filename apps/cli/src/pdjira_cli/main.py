"""``pdjira``: the one command-line entry point. Subcommands grow with the issues."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pdjira_cli import (
    audit_cmd,
    config_cmd,
    dev_cmd,
    dlq_cmd,
    doctor_cmd,
    jql_cmd,
    links_cmd,
    nats_cmd,
    partitions_cmd,
    rules_cmd,
    trace_cmd,
    users_cmd,
    webhook_debug_cmd,
    webhooks_cmd,
)

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pdjira", description="PagerDuty <-> Jira Server/Data Center sync on NATS JetStream"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dev_cmd.register(commands)
    config_cmd.register(commands)
    dlq_cmd.register(commands)
    partitions_cmd.register(commands)
    users_cmd.register(commands)
    links_cmd.register(commands)
    rules_cmd.register(commands)
    audit_cmd.register(commands)
    webhook_debug_cmd.register(commands)
    webhooks_cmd.register(commands)
    doctor_cmd.register(commands)
    trace_cmd.register(commands)
    jql_cmd.register(commands)
    nats_cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
