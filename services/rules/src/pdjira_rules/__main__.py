"""``python -m pdjira_rules --config FILE``: decide commands from events."""

from __future__ import annotations

import argparse
import sys

from pdjira_common.config import ConfigError, load_config
from pdjira_common.logging import configure_logging
from pdjira_common.service import run_asgi

from pdjira_rules.main import create_service
from pdjira_rules.rule_loading import RuleLoadError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pdjira_rules", description="pdjira rules: turn events into commands"
    )
    parser.add_argument("--config", required=True, help="path of the pdjira YAML config file")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"pdjira_rules: {exc}", file=sys.stderr)
        return 2
    try:
        service = create_service(config)
    except RuleLoadError as exc:
        print(
            f"pdjira_rules: cannot start: {len(exc.problems)} problem(s) in the rules of "
            f"{args.config}:",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    configure_logging("rules", config.log_level)
    run_asgi(service.asgi, config.listen.rules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
