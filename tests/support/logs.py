"""How in-process services log under pytest: structlog's console lines with plain tracebacks.

Services started as processes log JSON (``configure_logging``). In-process ones would otherwise
use structlog's defaults, which render every logged exception as a rich traceback with locals:
slow enough under load to hold a lane past its ack wait, and hard to read in a captured log."""

from __future__ import annotations

import structlog

__all__ = ["configure_test_logging"]


def configure_test_logging() -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%H:%M:%S.%f", utc=True),
            structlog.dev.ConsoleRenderer(
                colors=False, exception_formatter=structlog.dev.plain_traceback
            ),
        ],
        cache_logger_on_first_use=False,
    )
