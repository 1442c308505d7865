"""A pdjira service run as its own process, the way it runs in production."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import yaml
from pdjira_devstack.process import ManagedProcess

__all__ = ["service_process"]


@contextmanager
def service_process(
    name: str, config_path: Path, logs: Path, *, env: Mapping[str, str] | None = None
) -> Iterator[ManagedProcess]:
    """``python -m pdjira_<name> --config FILE``, healthy on the port its config gives it,
    logging to ``logs/<name>.log``; stopped at the end."""
    key = name.replace("-", "_")
    port = yaml.safe_load(config_path.read_text())["listen"][key]["port"]
    process = ManagedProcess(
        name,
        f"pdjira_{key}",
        ["--config", str(config_path)],
        health_url=f"http://127.0.0.1:{port}/health",
        log_file=logs / f"{name}.log",
        env=dict(env or {}),
    )
    process.start()
    try:
        process.wait_healthy()
        yield process
    finally:
        process.stop()
