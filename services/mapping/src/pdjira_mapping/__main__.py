"""``python -m pdjira_mapping --config FILE``: run the mapping service."""

from __future__ import annotations

import argparse
import sys

from pdjira_common.config import ConfigError, load_config
from pdjira_common.logging import configure_logging
from pdjira_common.service import run_asgi

from pdjira_mapping.main import create_service

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pdjira_mapping",
        description="pdjira mapping: links, users and echo marks; lookups and admin API",
    )
    parser.add_argument("--config", required=True, help="path of the pdjira YAML config file")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"pdjira-mapping: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging("mapping", config.log_level)
    run_asgi(create_service(config).asgi, config.listen.mapping)


if __name__ == "__main__":
    main()
