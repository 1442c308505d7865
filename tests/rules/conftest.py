"""Fixtures for every rules test (engine, model, admin API, service); each folder's own
conftest adds what only it needs (fake writers and the rule store; a fake mapping and the
running service)."""

from __future__ import annotations

import pytest
import structlog


@pytest.fixture(autouse=True)
def _fresh_structlog() -> None:
    """Start from structlog's defaults: a test elsewhere may have left it writing to a
    captured (now closed) stream, which would make every log call in a handler fail."""
    structlog.reset_defaults()
