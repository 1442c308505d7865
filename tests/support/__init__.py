"""Test support: stand-ins and helpers only tests use (never imported by libs, services or apps).

Importable as ``support`` (``pythonpath = ["tests"]`` in pyproject.toml)."""
