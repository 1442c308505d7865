"""The command line both simulators share: ``python -m pdjira_simulators.<vendor> ...``."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import TypeVar

from starlette.types import ASGIApp

from pdjira_simulators.common.contract_mode import ENV_VAR, contract_mode_from_env
from pdjira_simulators.common.server import serve

__all__ = ["run", "settings_from_args", "simulator_parser"]

S = TypeVar("S")
_MISSING = object()


def simulator_parser(
    vendor: str, description: str, *, port: int, webhook_timeout: float
) -> argparse.ArgumentParser:
    """The flags every simulator has; the vendor adds its own, each flag's ``dest`` being the
    name of the settings field it sets."""
    parser = argparse.ArgumentParser(
        prog=f"python -m pdjira_simulators.{vendor}", description=description
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument("--webhook-timeout", type=float, default=webhook_timeout)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--base-url", default=None, help="public URL used in self links")
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
    parser.add_argument("--log-level", default="warning")
    return parser


def settings_from_args(settings: type[S], args: argparse.Namespace) -> S:
    """``settings`` (a dataclass) from the flags whose ``dest`` is one of its fields; lists
    (repeatable flags) become tuples."""
    values = {
        field.name: tuple(value) if isinstance(value, list) else value
        for field in dataclasses.fields(settings)  # type: ignore[arg-type]
        if (value := getattr(args, field.name, _MISSING)) is not _MISSING
    }
    return settings(**values)


def run(create_app: Callable[[S], ASGIApp], settings: type[S], args: argparse.Namespace) -> None:
    """Build the app from the flags and serve it until SIGTERM/SIGINT."""
    app = create_app(settings_from_args(settings, args))
    serve(app, host=args.host, port=args.port, log_level=args.log_level)
