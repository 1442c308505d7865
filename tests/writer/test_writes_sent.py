"""An attempt that failed before sending any write forgets its start (its retry applies the
command directly, no search at the vendor first); one that sent a write keeps it."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.retry import Postponed, Retryable
from pdjira_writer.command_log import CommandRecord, MemoryCommandLog
from pdjira_writer.commands import _handle_counting_writes
from pdjira_writer.writes_sent import counting_writes, note_request


class Command:
    command_id = "c1"


class FailingWriter:
    """Sends ``methods`` (as VendorHttp would note them), then fails with ``error``."""

    def __init__(self, methods: list[str], error: Exception) -> None:
        self.methods = methods
        self.error = error

    async def handle(self, command: Any) -> Any:
        for method in self.methods:
            note_request(method)
        raise self.error


def test_only_requests_that_may_change_something_count() -> None:
    with counting_writes() as writes:
        for method in ("GET", "get", "HEAD", "POST", "PUT", "DELETE"):
            note_request(method)
    assert writes.sent == 3
    note_request("POST")  # outside any attempt: nothing to count, no error


@pytest.mark.parametrize(
    ("methods", "error", "kept"),
    [
        ([], Postponed("create issue postponed: rate limit", delay=5.0), False),
        (["GET"], Retryable("Jira answered 503 to list projects"), False),
        (["GET", "POST"], Retryable("Jira timed out on create issue"), True),
        (["POST"], Postponed("transition postponed: rate limit", delay=5.0), True),
    ],
)
async def test_a_failed_attempt_keeps_its_start_only_if_it_sent_a_write(
    methods: list[str], error: Exception, kept: bool
) -> None:
    log = MemoryCommandLog()
    await log.put(CommandRecord(command_id="c1", state="started"))
    with pytest.raises(type(error)):
        await _handle_counting_writes(FailingWriter(methods, error), Command(), log, first_run=True)  # type: ignore[arg-type]
    assert (await log.get("c1") is not None) is kept


async def test_after_an_earlier_run_the_start_is_kept_whatever_failed() -> None:
    log = MemoryCommandLog()
    await log.put(CommandRecord(command_id="c1", state="started"))
    postponed = Postponed("create issue postponed: rate limit", delay=5.0)
    with pytest.raises(Postponed):
        await _handle_counting_writes(FailingWriter([], postponed), Command(), log, first_run=False)  # type: ignore[arg-type]
    assert await log.get("c1") is not None
