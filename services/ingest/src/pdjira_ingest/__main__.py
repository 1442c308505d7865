"""``python -m pdjira_ingest --config FILE``: serve the webhook endpoints."""

from __future__ import annotations

import argparse
import sys

from pdjira_common.bus import make_broker
from pdjira_common.config import ConfigError, load_config
from pdjira_common.logging import configure_logging
from pdjira_common.service import run_asgi

from pdjira_ingest.app import create_app

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pdjira_ingest", description="pdjira ingest: receive PagerDuty and Jira webhooks"
    )
    parser.add_argument("--config", required=True, help="path of the pdjira YAML config file")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"pdjira_ingest: {exc}", file=sys.stderr)
        return 2
    configure_logging("ingest", config.log_level)
    broker = make_broker(config.nats.url, consumer="ingest", retry=config.retry)
    run_asgi(create_app(config, broker), config.listen.ingest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
