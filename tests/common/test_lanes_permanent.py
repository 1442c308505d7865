"""A permanent failure (its failure outcome already published) is dead-lettered at once, with
its reason, and the lane moves on: ``pdjira dlq replay`` redoes it after the fix."""

from __future__ import annotations

import random

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common import streams
from pdjira_common.config import RetrySettings
from pdjira_common.contracts import DeadLetter
from pdjira_common.lanes import LaneDispatcher
from pdjira_common.retry import DeadLetterNow, PermanentFailure, after_failure, is_expected
from pdjira_devstack.waiting import wait_drained

RETRY = RetrySettings(base_delay=0.2, max_delay=0.4, max_attempts=3, ack_wait=2.0)
REASON = "Jira instance 'dc1' refused transition OPS-1 (400): ...; fix the workflow"


def test_a_permanent_failure_is_dead_lettered_at_once_and_expected() -> None:
    failure = PermanentFailure(REASON)
    verdict = after_failure(failure, attempt=1, waits=0, settings=RETRY, rng=random.Random(1))
    assert verdict == DeadLetterNow(REASON)
    assert is_expected(failure)  # no traceback in the log: it is no bug


async def test_a_permanent_failure_is_tried_once_then_kept_in_the_dlq(nc: Client) -> None:
    calls: list[bytes] = []

    async def handler(msg: Msg) -> None:
        calls.append(msg.data)
        if msg.data == b"refused":
            raise PermanentFailure(REASON)

    js = nc.jetstream()
    await js.publish("commands.jira.dc1.A", b"refused")
    await js.publish("commands.jira.dc1.A", b"next")
    lanes = LaneDispatcher(js, subject="commands.jira.>", durable="t", handler=handler, retry=RETRY)
    await lanes.start()
    try:
        await wait_drained(js, timeout=10, consumers=["t"])
    finally:
        await lanes.stop()
    assert calls == [b"refused", b"next"]
    raw = await js.get_last_msg(streams.DLQ, "dlq.COMMANDS.t")
    letter = msgspec.json.decode(raw.data or b"", type=DeadLetter)
    assert (letter.reason, letter.attempts, letter.data) == (REASON, 1, b"refused")
