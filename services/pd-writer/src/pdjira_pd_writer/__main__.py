"""``python -m pdjira_pd_writer --config FILE``: run the pd-writer."""

from __future__ import annotations

import argparse
import sys

from pdjira_common.config import ConfigError, load_config
from pdjira_common.logging import configure_logging
from pdjira_common.service import run_asgi

from pdjira_pd_writer.main import create_service

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pdjira_pd_writer",
        description="pdjira pd-writer: applies commands.pd.> to PagerDuty",
    )
    parser.add_argument("--config", required=True, help="path of the pdjira YAML config file")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"pdjira-pd-writer: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging("pd-writer", config.log_level)
    run_asgi(create_service(config).app, config.listen.pd_writer)


if __name__ == "__main__":
    main()
