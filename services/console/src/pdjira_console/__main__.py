"""``python -m pdjira_console --config FILE``: run the admin web console."""

from __future__ import annotations

from pdjira_common.logging import configure_logging
from pdjira_common.service import config_from_command_line, run_asgi

from pdjira_console.app import create_app

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    config = config_from_command_line(
        argv,
        prog="python -m pdjira_console",
        description="pdjira console: the admin web console",
        name="pdjira-console",
    ).config
    configure_logging("console", config.log_level)
    run_asgi(create_app(config), config.listen.console)


if __name__ == "__main__":
    main()
