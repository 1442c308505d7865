"""``python -m pdjira_rules --config FILE``: decide commands from events."""

from __future__ import annotations

import sys

from pdjira_common.logging import configure_logging
from pdjira_common.service import config_from_command_line, run_asgi

from pdjira_rules.main import create_service
from pdjira_rules.rule_loading import RuleLoadError

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    config, path = config_from_command_line(
        argv,
        prog="python -m pdjira_rules",
        description="pdjira rules: turn events into commands",
        name="pdjira_rules",
    )
    try:
        service = create_service(config)
    except RuleLoadError as exc:
        print(
            f"pdjira_rules: cannot start: {len(exc.problems)} problem(s) in the rules of {path}:",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging("rules", config.log_level)
    run_asgi(service.asgi, config.listen.rules)


if __name__ == "__main__":
    main()
