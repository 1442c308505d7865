"""``python -m support.crashing_writer --crash-after create_issue --config FILE``: the
jira-writer, except that its Jira clients end the process, as kill -9 would, right after the
named call succeeded (no ack, no outcome, no cleanup). A test's entry point: the service itself
has no such hook, and no config can give it one.

Run it with ``tests`` on ``PYTHONPATH`` (``support`` is a test package)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from pdjira_common.config import Config
from pdjira_jira_writer.jira_client import JiraApi, http_clients
from pdjira_jira_writer.main import JiraWriterService, create_service
from pdjira_writer.service import run
from pdjira_writer.vendor_http import HttpOptions

__all__ = ["CRASH_MARK", "CrashAfter", "main"]

CRASH_MARK = "test_crash"  # written to stderr just before the process ends


class CrashAfter:
    """``client`` whose ``method`` ends the process once it returned."""

    def __init__(self, client: JiraApi, method: str) -> None:
        self._client = client
        self._method = method

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name != self._method:
            return attribute

        async def then_die(*args: Any, **kwargs: Any) -> Any:
            await attribute(*args, **kwargs)
            sys.stderr.write(f'{{"event": "{CRASH_MARK}", "after": "{name}"}}\n')
            sys.stderr.flush()
            os._exit(137)

        return then_die


def crashing(method: str) -> Callable[[Config], JiraWriterService]:
    def create(config: Config) -> JiraWriterService:
        clients = http_clients(config, HttpOptions.of(config))
        wrapped: dict[str, Any] = {k: CrashAfter(c, method) for k, c in clients.items()}
        return create_service(config, clients=wrapped)

    return create


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m support.crashing_writer")
    parser.add_argument(
        "--crash-after", required=True, help="the JiraApi method, e.g. create_issue"
    )
    args, rest = parser.parse_known_args(argv)
    run(create_service, rest, create=crashing(args.crash_after))


if __name__ == "__main__":
    main()
