"""``python -m pdjira_rules --config FILE``: decide commands from events."""

from __future__ import annotations

import argparse
import sys

from pdjira_common.config import ConfigError, load_config
from pdjira_common.logging import configure_logging
from pdjira_common.service import run_asgi

from pdjira_rules.main import build

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
    configure_logging("rules", config.log_level)
    _, app = build(config)
    run_asgi(app, config.listen.rules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
