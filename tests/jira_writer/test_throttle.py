"""Rate-limit spacing: when to pause after an answer, and the gate that applies it."""

from __future__ import annotations

import pytest
from pdjira_common.bus import Retryable
from pdjira_jira_writer.errors import pause_seconds
from pdjira_jira_writer.throttle import Throttle

BUDGET = {"x-ratelimit-fillrate": "2", "x-ratelimit-interval-seconds": "4"}


@pytest.mark.parametrize(
    ("status", "headers", "pause"),
    [
        (200, {}, None),  # rate limiting off (the Jira DC default): no headers
        (200, {**BUDGET, "x-ratelimit-remaining": "3", "retry-after": "0"}, None),
        # the last token was just spent: one token takes interval / fill rate
        (200, {**BUDGET, "x-ratelimit-remaining": "0", "retry-after": "0"}, 2.0),
        (201, {**BUDGET, "x-ratelimit-remaining": "0", "retry-after": "3"}, 3.0),
        (429, {**BUDGET, "x-ratelimit-remaining": "0", "retry-after": "5"}, 5.0),
        (429, {}, None),
        (200, {"x-ratelimit-remaining": "0"}, None),  # no way to tell: no pause
    ],
)
def test_pause_seconds(status: int, headers: dict[str, str], pause: float | None) -> None:
    assert pause_seconds(status, headers) == pause


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_throttle_waits_briefly_then_lets_requests_through() -> None:
    time = FakeTime()
    gate = Throttle(max_inline_wait=5.0, clock=time.clock, sleep=time.sleep)
    await gate.before_request("search")
    assert time.slept == []
    gate.pause(2.0)
    gate.pause(None)
    gate.pause(1.0)  # a shorter pause never shortens a longer one
    await gate.before_request("create issue")
    assert time.slept == [2.0]
    await gate.before_request("create issue")
    assert time.slept == [2.0]


async def test_throttle_postpones_the_command_when_the_wait_is_long() -> None:
    time = FakeTime()
    gate = Throttle(max_inline_wait=5.0, clock=time.clock, sleep=time.sleep)
    gate.pause(30.0)
    time.now += 10.0
    with pytest.raises(Retryable, match="create issue postponed") as raised:
        await gate.before_request("create issue")
    assert raised.value.delay == pytest.approx(20.0)
    assert time.slept == []
