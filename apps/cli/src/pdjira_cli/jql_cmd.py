"""``pdjira jql check "<query>"``: does Jira's grammar accept the query?

Exit 0 and ``ok`` plus a one-line account of the clauses, or exit 2 with Jira's error, its
line and character, and the query line with a caret under the spot. The check is offline: the
grammar is Jira's own (``pdjira_jql``, checked against Atlassian's grammar).

Extending it: ``check_report`` returns the parsed query along with the lines it prints, so a
later ``--instance I`` can add lines (which clauses the rules service decides locally and which
it asks that Jira instance) without touching the syntax part.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from pdjira_jql import JqlSyntaxError, Query, describe, parse

from pdjira_cli.jql_instance import add_instance_option, run_instance
from pdjira_cli.nats_access import add_nats_options

__all__ = ["CheckReport", "caret_lines", "check_report", "register"]

EXIT_OK = 0
EXIT_INVALID = 2


@dataclass(frozen=True, slots=True)
class CheckReport:
    code: int  # EXIT_OK or EXIT_INVALID
    lines: tuple[str, ...]  # what to print (stdout when ok, stderr when not)
    query: Query | None  # the parse tree when the query is valid


def register(commands: Any) -> None:
    jql = commands.add_parser("jql", help="JQL tools (check a query against Jira's grammar)")
    sub = jql.add_subparsers(dest="jql_command", required=True, metavar="ACTION")
    check = sub.add_parser(
        "check",
        help="whether a query parses as Jira parses it (exit 0), or the error and where (exit 2)",
    )
    check.add_argument(
        "query", metavar="QUERY", help="the JQL, quoted for the shell; - reads stdin"
    )
    add_instance_option(check)
    add_nats_options(check)
    check.set_defaults(handler=_check)


def check_report(query: str) -> CheckReport:
    """The verdict on ``query`` and the lines that say it; pure."""
    try:
        parsed = parse(query)
    except JqlSyntaxError as e:
        return CheckReport(EXIT_INVALID, (str(e), *caret_lines(e)), None)
    return CheckReport(EXIT_OK, ("ok", describe(parsed)), parsed)


def caret_lines(error: JqlSyntaxError) -> tuple[str, ...]:
    """The query line the error is on, and a caret under the character."""
    line = error.query.split("\n")[error.line - 1].rstrip("\r")
    # Tabs keep their width in the caret line, so the caret lines up in a terminal.
    pad = "".join("\t" if c == "\t" else " " for c in line[: error.character - 1])
    return (f"  {line}", f"  {pad}^")


def _check(args: argparse.Namespace) -> int:
    query = sys.stdin.read().rstrip("\n") if args.query == "-" else args.query
    report = check_report(query)
    out = sys.stdout if report.code == EXIT_OK else sys.stderr
    for line in report.lines:
        print(line, file=out)
    if report.code != EXIT_OK or not args.instance:
        return report.code
    return run_instance(args, query)
