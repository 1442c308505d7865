"""``pdjira dlq list`` / ``pdjira dlq replay``: the command line on a real nats-server."""

from __future__ import annotations

import asyncio

import nats
import pytest
from pdjira_cli.main import main
from pdjira_common import streams
from pdjira_common.contracts import DeadLetter, encode
from pdjira_common.streams import Topology, ensure_topology
from pdjira_common.subjects import unpartitioned
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.ports import free_port


async def _setup(url: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_topology(js, Topology())
    for i in (1, 2):
        letter = DeadLetter(
            stream="COMMANDS",
            consumer="jira-writer",
            subject=f"commands.jira.dc1.Q{i}",
            reason=f"Jira instance 'dc1' answered 503 to create issue: try {i}",
            attempts=10,
            correlation_id=f"evt-{i}",
            failed_at="2026-11-26T07:00:00+00:00",
            data=b'{"x": 1}',
            headers={"Nats-Msg-Id": f"cmd-{i}"},
        )
        await js.publish("dlq.COMMANDS.jira-writer", encode(letter), stream=streams.DLQ)
    await nc.close()


async def _commands(url: str) -> list[tuple[str, str]]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info(streams.COMMANDS)
    found: list[tuple[str, str]] = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(streams.COMMANDS, seq)
        found.append(
            (unpartitioned(str(msg.subject)), str((msg.headers or {}).get("Nats-Msg-Id", "")))
        )
    await nc.close()
    return found


def test_list_then_replay_one_then_all(
    nats_server: NatsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_setup(nats_server.url))
    assert main(["dlq", "list", "--nats", nats_server.url]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2
    assert listed[0].startswith("1\t2026-11-26T07:00:00+00:00\tcommands.jira.dc1.Q1\tattempts=10")
    assert listed[0].endswith("answered 503 to create issue: try 1")

    assert main(["dlq", "replay", "2", "--nats", nats_server.url]) == 0
    assert capsys.readouterr().out == "2: replayed to commands.jira.dc1.Q2\n"
    assert main(["dlq", "replay", "7", "--nats", nats_server.url]) == 1
    assert "7: no such dead letter (see `pdjira dlq list`)" in capsys.readouterr().out
    assert main(["dlq", "replay", "--all", "--nats", nats_server.url]) == 0
    assert capsys.readouterr().out == "1: replayed to commands.jira.dc1.Q1\n"
    assert main(["dlq", "list", "--nats", nats_server.url]) == 0
    assert capsys.readouterr().out == "no dead letters\n"
    # New message ids: the COMMANDS dedup window does not swallow the replays.
    assert asyncio.run(_commands(nats_server.url)) == [
        ("commands.jira.dc1.Q2", "replay:DLQ:2:cmd-2"),
        ("commands.jira.dc1.Q1", "replay:DLQ:1:cmd-1"),
    ]


def test_unreachable_nats_says_what_to_check(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    assert main(["dlq", "list", "--nats", url]) == 2
    err = capsys.readouterr().err
    assert f"cannot connect to NATS at {url}" in err
    assert "is nats-server running" in err
