"""Rate-limit spacing for PagerDuty: when to pause after an answer, and the gate."""

from __future__ import annotations

import pytest
from pdjira_common.bus import Retryable
from pdjira_pd_writer.errors import pause_seconds
from pdjira_pd_writer.throttle import Throttle


@pytest.mark.parametrize(
    ("status", "headers", "pause"),
    [
        (200, {}, None),
        (
            200,
            {"ratelimit-limit": "960", "ratelimit-remaining": "12", "ratelimit-reset": "30"},
            None,
        ),
        (
            200,
            {"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "30"},
            30.0,
        ),
        (429, {"ratelimit-remaining": "0", "ratelimit-reset": "20"}, 20.0),
        (429, {}, None),  # "exceptional" 429s without headers: the retry backoff applies
    ],
)
def test_pause_seconds(status: int, headers: dict[str, str], pause: float | None) -> None:
    assert pause_seconds(status, headers) == pause


async def test_throttle_waits_or_postpones() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    gate = Throttle(max_inline_wait=2.0, clock=lambda: now[0], sleep=sleep)
    gate.pause(1.5)
    await gate.before_request("get incident P1")
    assert slept == [1.5]
    gate.pause(20.0)
    with pytest.raises(Retryable) as raised:
        await gate.before_request("get incident P1")
    assert raised.value.delay == pytest.approx(20.0)
