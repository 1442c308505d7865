"""``python -m pdjira_mapping --config FILE``: run the mapping service."""

from __future__ import annotations

from pdjira_common.logging import configure_logging
from pdjira_common.service import config_from_command_line, run_asgi

from pdjira_mapping.main import create_service

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    config = config_from_command_line(
        argv,
        prog="python -m pdjira_mapping",
        description="pdjira mapping: links, users and echo marks; lookups and admin API",
        name="pdjira-mapping",
    ).config
    configure_logging("mapping", config.log_level)
    run_asgi(create_service(config).asgi, config.listen.mapping)


if __name__ == "__main__":
    main()
