"""``python -m pdjira_jira_writer --config FILE``: run the jira-writer."""

from __future__ import annotations

import argparse
import sys

from pdjira_common.config import ConfigError, load_config
from pdjira_common.logging import configure_logging
from pdjira_common.service import run_asgi

from pdjira_jira_writer.main import create_service

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pdjira_jira_writer",
        description="pdjira jira-writer: applies commands.jira.> to Jira Server/DC",
    )
    parser.add_argument("--config", required=True, help="path of the pdjira YAML config file")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"pdjira-jira-writer: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging("jira-writer", config.log_level)
    run_asgi(create_service(config).app, config.listen.jira_writer)


if __name__ == "__main__":
    main()
