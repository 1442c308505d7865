"""``python -m pdjira_rules --config FILE``: decide commands from events."""

from __future__ import annotations

from pdjira_common.logging import configure_logging
from pdjira_common.service import config_from_command_line, refuse_to_start, run_asgi

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
        refuse_to_start(
            "pdjira_rules",
            "rules_invalid",
            error=f"cannot start: {len(exc.problems)} problem(s) in the rules of {path}",
            problems=[str(problem) for problem in exc.problems],
            fix=f"correct the rules; `pdjira config check {path}` lists the same problems",
        )
    configure_logging("rules", config.log_level)
    run_asgi(service.asgi, config.listen.rules)


if __name__ == "__main__":
    main()
