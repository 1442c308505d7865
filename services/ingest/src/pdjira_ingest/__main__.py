"""``python -m pdjira_ingest --config FILE``: serve the webhook endpoints."""

from __future__ import annotations

from pdjira_common.bus import make_broker
from pdjira_common.health import Liveness, with_liveness
from pdjira_common.logging import configure_logging
from pdjira_common.service import config_from_command_line, run_asgi

from pdjira_ingest.app import create_app

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    config = config_from_command_line(
        argv,
        prog="python -m pdjira_ingest",
        description="pdjira ingest: receive PagerDuty and Jira webhooks",
        name="pdjira_ingest",
    ).config
    configure_logging("ingest", config.log_level)
    broker = make_broker(config.nats, consumer="ingest", retry=config.retry)
    # /live: the same liveness as the other services' (their /live is in service_app).
    app = with_liveness(create_app(config, broker), Liveness("ingest", broker))
    run_asgi(app, config.listen.ingest)


if __name__ == "__main__":
    main()
