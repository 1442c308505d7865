"""Exactly once per command, on a real nats-server: a redelivered command that is done runs
nothing; a writer killed after Jira took the comment and before the ack leaves one comment."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from nats.aio.client import Client
from pdjira_common import subjects
from pdjira_common.contracts import AddComment, CommentAdded, IncidentRef, encode
from pdjira_common.partitions import replica_id
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port
from pdjira_devstack.waiting import wait_drained
from pdjira_jira_writer.handlers import CONSUMER
from pdjira_mapping.main import MappingService
from support.crashing_writer import CRASH_MARK
from support.writers import FAST_RETRY, OutcomeWatcher

from .conftest import INSTANCE, JIRA_PASSWORD, JIRA_USER, JiraSim
from .test_jira_writer_service import linked_issue, new_incident

TESTS = Path(__file__).resolve().parents[1]
CRASHING_WRITER = (sys.executable, "-m", "support.crashing_writer")
RETRY = {**FAST_RETRY, "ack_wait": 2.0}  # a killed writer's command comes back soon


def comment_on(incident: IncidentRef, body: str) -> AddComment:
    return AddComment(
        command_id=f"comment-{uuid.uuid4().hex[:8]}",
        correlation_id=f"evt-{uuid.uuid4().hex[:8]}",
        incident=incident,
        instance=INSTANCE,
        note_id=f"N{uuid.uuid4().hex[:8].upper()}",
        body=body,
    )


async def send(nc: Client, command: AddComment, *, msg_id: str) -> None:
    await nc.jetstream().publish(
        subjects.command_jira(command.instance, command.incident.incident_id),
        encode(command),
        headers={"Nats-Msg-Id": msg_id, "Pdjira-Correlation-Id": command.correlation_id},
    )


async def comments_of(jira_sim: JiraSim, key: str) -> list[str]:
    issue = await jira_sim.issue(key)
    return [c["body"] for c in issue["fields"]["comment"]["comments"]]


async def test_a_redelivered_done_command_runs_nothing(
    nc: Client,
    jira_sim: JiraSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
) -> None:
    incident = new_incident()
    command = comment_on(incident, "Paged the DBA")
    async with start_writer():
        key = (await linked_issue(nc, outcomes, incident)).issue.key
        await send(nc, command, msg_id="first delivery")
        first = await outcomes.wait_for(command.command_id)
        assert isinstance(first, CommentAdded)
        await wait_drained(nc.jetstream(), timeout=10, consumers=[CONSUMER])
        await jira_sim.clear_requests()
        # The same command again (as a redelivery after a lost ack brings it).
        await send(nc, command, msg_id="second delivery")
        await wait_drained(nc.jetstream(), timeout=10, consumers=[CONSUMER])
    assert await jira_sim.requests() == []  # not even a read: its record says done
    assert await comments_of(jira_sim, key) == ["[PagerDuty in PagerDuty]\nPaged the DBA"]
    assert all(o == first for o in outcomes.of(command.command_id))


def crashing_writer_config(tmp_path: Path, nats_url: str, jira_url: str) -> Path:
    path = tmp_path / "jira-writer.yaml"
    config = {
        "nats": {"url": nats_url},
        "jira_instances": [
            {
                "id": INSTANCE,
                "base_url": jira_url,
                "auth": {"type": "basic", "username": JIRA_USER, "password": JIRA_PASSWORD},
                "webhook_secret": "jira-hook-secret",
            }
        ],
        "retry": RETRY,
        "listen": {"jira_writer": {"port": free_port()}},
    }
    path.write_text(yaml.safe_dump(config))
    return path


async def test_killed_after_the_comment_and_before_the_ack_leaves_one_comment(
    nc: Client,
    nats_server: NatsServer,
    jira_sim: JiraSim,
    mapping: MappingService,
    start_writer: Callable[..., Any],
    outcomes: OutcomeWatcher,
    tmp_path: Path,
) -> None:
    incident = new_incident()
    async with start_writer(retry=RETRY):
        key = (await linked_issue(nc, outcomes, incident)).issue.key
    command = comment_on(incident, "Failing over to db-2")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        # The writer restarted below (in this process) is the same replica, as after a
        # container restart: it takes its partitions back at once.
        "PDJIRA_REPLICA_ID": replica_id(),
    }
    config = crashing_writer_config(tmp_path, nats_server.url, jira_sim.url)
    crashing = await asyncio.create_subprocess_exec(
        *CRASHING_WRITER,
        *("--crash-after", "add_comment", "--config", str(config)),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # The command waits in the stream until the process is connected and takes it.
        await send(nc, command, msg_id=command.command_id)
        _, stderr = await asyncio.wait_for(crashing.communicate(), timeout=60)
    finally:
        if crashing.returncode is None:
            crashing.kill()
    assert crashing.returncode == 137, "the writer did not die right after Jira took the comment"
    assert CRASH_MARK in stderr.decode()
    assert len(await comments_of(jira_sim, key)) == 1
    # A new writer gets the command again (its ack never came): it finds the comment.
    async with start_writer(retry=RETRY):
        outcome = await outcomes.wait_for(command.command_id, within=20)
        await wait_drained(nc.jetstream(), timeout=10, consumers=[CONSUMER])
    comments = (await jira_sim.issue(key))["fields"]["comment"]["comments"]
    assert [c["body"] for c in comments] == ["[PagerDuty in PagerDuty]\nFailing over to db-2"]
    assert isinstance(outcome, CommentAdded)
    assert outcome.comment_id == comments[0]["id"]
