"""A permanent refusal is a dead letter too: the failure outcome goes out, the command waits in
the DLQ with Jira's words and what to fix, and `pdjira dlq replay` redoes it after the fix (the
same command id: its failure was not recorded as done, and its new outcome is not taken for a
duplicate of the failure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nats.aio.client import Client
from pdjira_cli.dlq_cmd import list_letters, replay_letters
from pdjira_common import streams, subjects
from pdjira_common.contracts import CommandFailed, IssueLinked, decode_outcome
from pdjira_common.subjects import unpartitioned
from pdjira_devstack.waiting import wait_drained
from pdjira_jira_writer.handlers import CONSUMER
from pdjira_mapping.main import MappingService
from support.writers import OutcomeWatcher

from .conftest import INSTANCE, JIRA_USER, JiraSim, send
from .test_jira_writer_service import create, label_of, new_incident


async def test_a_401_is_dead_lettered_and_replayed_after_the_fix(
    nc: Client,
    jira_sim: JiraSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
) -> None:
    incident = new_incident()
    command = create(incident)
    wrong = {"type": "basic", "username": JIRA_USER, "password": "wrong-password-77c1"}
    async with start_writer(auth=wrong):
        await send(nc, command)
        failure = await outcomes.wait_for(command.command_id)
        await wait_drained(nc.jetstream(), timeout=10, consumers=[CONSUMER])
    assert isinstance(failure, CommandFailed)

    [(letter_id, letter)] = await list_letters(nc.jetstream())
    assert unpartitioned(letter.subject).startswith(f"commands.jira.{INSTANCE}.")
    assert letter.reason == failure.reason
    assert f"check the credentials of Jira instance '{INSTANCE}'" in letter.reason
    assert letter.attempts == 1
    assert await jira_sim.issues(label_of(incident)) == []

    # The fix (the right password), then `pdjira dlq replay ID`.
    async with start_writer():
        lines = await replay_letters(nc.jetstream(), [letter_id])
        assert lines == [f"{letter_id}: replayed to {letter.subject}"]
        await wait_drained(nc.jetstream(), timeout=10, consumers=[CONSUMER])

    linked = [o for o in outcomes.of(command.command_id) if isinstance(o, IssueLinked)]
    assert len(linked) == 1
    # Stored, not dropped as a duplicate of the failure: mapping records the link from it.
    stored = await nc.jetstream().get_last_msg(streams.OUTCOMES, subjects.outcome("jira", INSTANCE))
    assert decode_outcome(stored.data or b"") == linked[0]
    assert len(await jira_sim.issues(label_of(incident))) == 1
    assert await list_letters(nc.jetstream()) == []
