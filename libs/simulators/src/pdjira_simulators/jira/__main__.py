"""`python -m pdjira_simulators.jira --port P [--username U --password P] [--token PAT] ...`."""

from __future__ import annotations

import argparse

import uvicorn

from pdjira_simulators.common.contract_mode import ENV_VAR, contract_mode_from_env
from pdjira_simulators.jira.app import create_app
from pdjira_simulators.jira.settings import JiraSettings

__all__ = ["main", "parse_args"]


def _type_and_field(value: str) -> tuple[str, str]:
    issue_type, sep, field_id = value.partition(":")
    if not sep or not issue_type or not field_id:
        raise argparse.ArgumentTypeError("expected TYPE:FIELD, e.g. Incident:customfield_10102")
    return issue_type, field_id


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pdjira_simulators.jira", description="Jira Server/DC simulator"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--token", default=None, help="personal access token for --username")
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-secret", default=None)
    parser.add_argument("--webhook-timeout", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--base-url", default=None, help="public URL used in self links")
    parser.add_argument(
        "--require-field",
        action="append",
        default=[],
        metavar="TYPE:FIELD",
        type=_type_and_field,
        help="field required at create, e.g. Incident:customfield_10102",
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
        "--captcha-after",
        type=int,
        default=3,
        help="failed basic logins of a user before REST answers 403 CAPTCHA_CHALLENGE (0 = never)",
    )
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = JiraSettings(
        username=args.username,
        password=args.password,
        token=args.token,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        webhook_timeout=args.webhook_timeout,
        seed=args.seed,
        base_url=args.base_url,
        check_contract=args.check_contract or args.contract_strict,
        contract_strict=args.contract_strict,
        required_on_create=tuple(args.require_field),
        captcha_after=args.captcha_after,
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)


if __name__ == "__main__":
    main()
