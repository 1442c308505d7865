"""`python -m pdjira_simulators.jira --port P [--username U --password P] [--token PAT] ...`."""

from __future__ import annotations

import argparse

from pdjira_simulators.common.runner import run, simulator_parser
from pdjira_simulators.jira.app import create_app
from pdjira_simulators.jira.settings import JiraSettings

__all__ = ["main", "parse_args"]


def main(argv: list[str] | None = None) -> None:
    """Serve the simulator the flags describe until SIGTERM/SIGINT."""
    run(create_app, JiraSettings, parse_args(argv))


def _type_and_field(value: str) -> tuple[str, str]:
    issue_type, sep, field_id = value.partition(":")
    if not sep or not issue_type or not field_id:
        raise argparse.ArgumentTypeError("expected TYPE:FIELD, e.g. Incident:customfield_10102")
    return issue_type, field_id


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags, named after the JiraSettings fields they set."""
    parser = simulator_parser("jira", "Jira Server/DC simulator", port=8082, webhook_timeout=10.0)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--token", default=None, help="personal access token for --username")
    parser.add_argument("--webhook-secret", default=None)
    parser.add_argument(
        "--require-field",
        dest="required_on_create",
        action="append",
        default=[],
        metavar="TYPE:FIELD",
        type=_type_and_field,
        help="field required at create, e.g. Incident:customfield_10102",
    )
    parser.add_argument(
        "--captcha-after",
        type=int,
        default=3,
        help="failed basic logins of a user before REST answers 403 CAPTCHA_CHALLENGE (0 = never)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
