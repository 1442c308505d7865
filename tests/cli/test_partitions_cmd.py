"""``pdjira partitions`` on a real nats-server: the live replicas, who holds each partition of
a service, and the backlog of each; after the replica left, nobody holds them."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_cli.partitions_cmd import group_of, read_partitions, render
from pdjira_common import streams
from pdjira_common.config import RetrySettings
from pdjira_common.lanes import LaneDispatcher
from pdjira_common.partition_lanes import PartitionedLanes
from pdjira_common.partitions import Unit, units

RETRY = RetrySettings(ack_wait=5.0)


def test_a_partition_durable_belongs_to_its_service() -> None:
    assert group_of("jira-writer-p3") == "jira-writer"
    assert group_of("jira-writer") == "jira-writer"
    assert group_of("pd-writer") == "pd-writer"


async def test_it_shows_the_holder_and_backlog_of_every_partition(nc: Client) -> None:
    js = nc.jetstream()
    release = asyncio.Event()

    async def stuck(msg: Msg) -> None:
        await release.wait()

    def dispatcher(unit: Unit) -> LaneDispatcher:
        return LaneDispatcher(
            js, subject=unit.filter, durable=unit.durable, handler=stuck, retry=RETRY
        )

    lanes = PartitionedLanes(
        js,
        group="jira-writer",
        stream=streams.COMMANDS,
        units=units("jira-writer", "commands.jira.>", streams.PARTITIONS),
        dispatcher=dispatcher,
        ack_wait=RETRY.ack_wait,
        me="jira-writer-1",
    )
    await lanes.start()
    try:
        await js.publish("commands.jira.dc1.Q1", b"held")

        async def shown() -> tuple[list, dict]:  # type: ignore[type-arg]
            while True:
                found, members = await read_partitions(js)
                if sum(p.unacked for p in found) == 1:
                    return found, members
                await asyncio.sleep(0.05)

        found, members = await asyncio.wait_for(shown(), timeout=10)
        assert members == {"jira-writer": ["jira-writer-1"]}
        assert len(found) == streams.PARTITIONS + 1
        assert {p.holder for p in found} == {"jira-writer-1"}
        lines = render(found, members)
        assert lines[0] == "jira-writer: replicas jira-writer-1"
        assert "jira-writer (unpartitioned)" in lines[1]
    finally:
        release.set()
        await lanes.stop()
    found, members = await read_partitions(js)
    assert members == {}
    assert {p.holder for p in found} == {"-"}  # handed back: released
