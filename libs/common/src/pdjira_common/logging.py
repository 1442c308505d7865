"""structlog JSON logging with the correlation id bound and secrets redacted.

Every line a service writes is one JSON object with ``timestamp``, ``level``, ``event`` and
``service``: our own structlog lines, and what libraries log through the standard ``logging``
module (uvicorn, nats-py, asyncio, FastStream's own ``faststream`` loggers, Python warnings and
an uncaught exception's traceback) rendered by the same processors. No colours, no plain text.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from types import TracebackType
from typing import Any

import structlog

from pdjira_common.secrets import redact

__all__ = ["bind_correlation_id", "configure_logging", "get_logger", "standalone_logger"]

# Loggers libraries set up with their own (plain, coloured) handlers: ours replaces them.
_LIBRARY_LOGGERS = ("faststream", "faststream.access", "uvicorn", "uvicorn.error", "uvicorn.access")


def _redact_secrets(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        if isinstance(value, str):
            event[key] = redact(value)
    return event


def _json_formatter() -> logging.Formatter:
    """Standard-library records as our JSON lines (logger name kept as ``logger``)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_secrets,
            structlog.processors.JSONRenderer(),
        ],
    )


def _processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        _redact_secrets,
        structlog.processors.JSONRenderer(),
    ]


def standalone_logger(service: str) -> Any:
    """A logger writing our JSON lines to stderr without configuring anything global: for a
    process that ends before its logging is set up (a config it cannot start with)."""
    return structlog.wrap_logger(
        structlog.PrintLogger(file=sys.stderr),
        processors=[p for p in _processors() if p is not structlog.contextvars.merge_contextvars],
        service=service,
    )


def configure_logging(service: str, level: str = "info") -> None:
    """JSON lines on stderr; every line carries ``service`` and any bound correlation id."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    structlog.configure(
        processors=_processors(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_json_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Libraries say a lot at info (uvicorn's start lines, FastStream's subscriber lines): ours
    # carry what matters, so theirs show from warning up unless debug is asked for.
    root.setLevel(max(numeric, logging.WARNING) if numeric > logging.DEBUG else numeric)
    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers[:] = []
        library.propagate = True
        library.setLevel(logging.NOTSET)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """An exception that ends the process: one JSON line with its traceback."""
    get_logger("pdjira").critical("uncaught_exception", exc_info=(kind, error, traceback))


def bind_correlation_id(correlation_id: str) -> None:
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
