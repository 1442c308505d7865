"""Fixtures for every rules test (engine, model, admin API, service); each folder's own
conftest adds what only it needs (fake writers and the rule store; a fake mapping and the
running service)."""

from __future__ import annotations
