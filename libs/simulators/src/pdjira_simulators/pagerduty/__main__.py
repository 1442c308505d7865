"""`python -m pdjira_simulators.pagerduty --port P --token T [--webhook-url U ...]`."""

from __future__ import annotations

import argparse

import uvicorn

from pdjira_simulators.common.contract_mode import ENV_VAR, contract_mode_from_env
from pdjira_simulators.pagerduty.app import create_app
from pdjira_simulators.pagerduty.settings import PagerDutySettings

__all__ = ["main", "parse_args"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pdjira_simulators.pagerduty", description="PagerDuty simulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="pd-sim-token", help="REST API token")
    parser.add_argument(
        "--extra-token", action="append", default=[], help="another accepted token (repeatable)"
    )
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument(
        "--webhook-secret",
        action="append",
        default=[],
        help="signing secret; repeat for rotation (several v1= signatures)",
    )
    parser.add_argument("--webhook-retry-delay", type=float, default=1.0)
    parser.add_argument("--webhook-timeout", type=float, default=5.0)
    parser.add_argument(
        "--webhook-disable-after",
        type=int,
        default=3,
        help="consecutive dropped webhooks before the subscription is "
        "temporarily disabled (0 = never)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--base-url", default=None, help="public URL used in self links")
    parser.add_argument("--rate-limit", type=int, default=960, help="requests/min per token")
    parser.add_argument(
        "--require-accept",
        action="store_true",
        help="400 without Accept: application/vnd.pagerduty+json;version=2",
    )
    check, strict = contract_mode_from_env()
    parser.add_argument(
        "--check-contract",
        action="store_true",
        default=check,
        help="validate every REST request and answer against the vendor OpenAPI document; "
        f"see GET /_sim/contract-violations (env {ENV_VAR}=1)",
    )
    parser.add_argument(
        "--contract-strict",
        action="store_true",
        default=strict,
        help=f"like --check-contract, and answer a violation with 500 (env {ENV_VAR}=strict)",
    )
    parser.add_argument(
        "--no-priorities",
        action="store_true",
        help="an account without priorities (GET /priorities answers 404)",
    )
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = PagerDutySettings(
        token=args.token,
        extra_tokens=tuple(args.extra_token),
        webhook_url=args.webhook_url,
        webhook_secrets=tuple(args.webhook_secret),
        webhook_retry_delay=args.webhook_retry_delay,
        webhook_timeout=args.webhook_timeout,
        webhook_disable_after=args.webhook_disable_after,
        seed=args.seed,
        base_url=args.base_url,
        check_contract=args.check_contract or args.contract_strict,
        contract_strict=args.contract_strict,
        rate_limit_per_minute=args.rate_limit,
        require_accept_header=args.require_accept,
        priorities_enabled=not args.no_priorities,
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
