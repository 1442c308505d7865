"""`python -m pdjira_simulators.pagerduty --port P --token T [--webhook-url U ...]`."""

from __future__ import annotations

import argparse

from pdjira_simulators.common.runner import run, simulator_parser
from pdjira_simulators.pagerduty.app import create_app
from pdjira_simulators.pagerduty.settings import PagerDutySettings

__all__ = ["main", "parse_args"]


def main(argv: list[str] | None = None) -> None:
    """Serve the simulator the flags describe until SIGTERM/SIGINT."""
    run(create_app, PagerDutySettings, parse_args(argv))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The flags, named after the PagerDutySettings fields they set."""
    parser = simulator_parser("pagerduty", "PagerDuty simulator", port=8081, webhook_timeout=5.0)
    parser.add_argument("--token", default="pd-sim-token", help="REST API token")
    parser.add_argument(
        "--extra-token",
        dest="extra_tokens",
        action="append",
        default=[],
        help="another accepted token (repeatable)",
    )
    parser.add_argument(
        "--webhook-secret",
        dest="webhook_secrets",
        action="append",
        default=[],
        help="signing secret; repeat for rotation (several v1= signatures)",
    )
    parser.add_argument("--webhook-retry-delay", type=float, default=1.0)
    parser.add_argument(
        "--webhook-disable-after",
        type=int,
        default=3,
        help="consecutive dropped webhooks before the subscription is "
        "temporarily disabled (0 = never)",
    )
    parser.add_argument(
        "--rate-limit",
        dest="rate_limit_per_minute",
        type=int,
        default=960,
        help="requests/min per token",
    )
    parser.add_argument(
        "--require-accept",
        dest="require_accept_header",
        action="store_true",
        help="400 without Accept: application/vnd.pagerduty+json;version=2",
    )
    parser.add_argument(
        "--no-priorities",
        dest="priorities_enabled",
        action="store_false",
        help="an account without priorities (GET /priorities answers 404)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
