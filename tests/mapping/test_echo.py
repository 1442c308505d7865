"""Echo marks: pure add/consume, then the registry on a real KV bucket with a fake clock."""

from __future__ import annotations

import pytest
from nats.aio.client import Client
from nats.js.kv import KeyValue
from pdjira_common import streams
from pdjira_common.requests import EchoConsume, EchoMark
from pdjira_mapping.echo import add_mark, consume_mark, echo_key
from pdjira_mapping.kvstore import TypedBucket
from pdjira_mapping.models import Mark, Marks
from pdjira_mapping.registry import EchoRegistry


def test_keys_are_safe_and_distinct() -> None:
    key = echo_key("jira", "jira:dc1:10100", "status", "In Progress")
    assert key.startswith("echo.jira.jira_dc1_10100=")
    assert key.split(".")[3] == "status"
    assert key != echo_key("jira", "jira:dc1:10100", "status", "Done")
    assert key != echo_key("jira", "jira:dc1:10100", "comment", "In Progress")


@pytest.mark.parametrize(
    ("before", "now", "event_id", "after", "matched"),
    [
        pytest.param(None, 0, None, None, False, id="no-mark"),
        pytest.param(Marks(marks=(Mark(expires_at=10),)), 5, None, None, True, id="consumed"),
        pytest.param(Marks(marks=(Mark(expires_at=10),)), 10, None, None, False, id="expired"),
        pytest.param(
            Marks(marks=(Mark(expires_at=10),)), 5, "e1",
            Marks(marks=(Mark(expires_at=10, consumed_by="e1"),)), True, id="kept-for-redelivery",
        ),
        pytest.param(
            Marks(marks=(Mark(expires_at=10, consumed_by="e1"),)), 6, "e1",
            Marks(marks=(Mark(expires_at=10, consumed_by="e1"),)), True, id="redelivery-matches",
        ),
        pytest.param(
            Marks(marks=(Mark(expires_at=10, consumed_by="e1"),)), 6, "e2",
            Marks(marks=(Mark(expires_at=10, consumed_by="e1"),)), False,
            id="a-person-after-our-write-is-not-an-echo",
        ),
        pytest.param(
            Marks(marks=(Mark(expires_at=10), Mark(expires_at=20))), 5, "e1",
            Marks(marks=(Mark(expires_at=10, consumed_by="e1"), Mark(expires_at=20))), True,
            id="two-writes-two-marks",
        ),
        pytest.param(
            Marks(marks=(Mark(expires_at=3), Mark(expires_at=20))), 5, None, None, True,
            id="expired-dropped",
        ),
    ],
)  # fmt: skip
def test_consume(
    before: Marks | None, now: float, event_id: str | None, after: Marks | None, matched: bool
) -> None:
    assert consume_mark(before, now=now, event_id=event_id) == (after, matched)


def test_add_drops_expired_marks() -> None:
    marks = Marks(marks=(Mark(expires_at=3), Mark(expires_at=20)))
    assert add_mark(marks, now=5, ttl=30) == Marks(marks=(Mark(expires_at=20), Mark(expires_at=35)))


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def echo(nc: Client) -> tuple[EchoRegistry, Clock]:
    kv = await nc.jetstream().key_value(streams.KV_ECHO)

    async def open_bucket() -> KeyValue:
        return kv

    clock = Clock()
    return EchoRegistry(TypedBucket(open_bucket, Marks), max_ttl=300.0, clock=clock), clock


def mark(value: str = "Done", ttl: float = 60.0) -> EchoMark:
    return EchoMark(
        system="jira", entity="jira:dc1:1", field="status", value=value, ttl_seconds=ttl
    )


def consume(value: str = "Done", event_id: str | None = None) -> EchoConsume:
    return EchoConsume(
        system="jira", entity="jira:dc1:1", field="status", value=value, event_id=event_id
    )


async def test_mark_then_consume_once(echo: tuple[EchoRegistry, Clock]) -> None:
    registry, _ = echo
    await registry.mark(mark())
    assert not await registry.consume(consume("In Progress"))  # another value: not ours
    assert await registry.consume(consume())
    assert not await registry.consume(consume())  # consumed: a second change is a person's


async def test_marks_expire(echo: tuple[EchoRegistry, Clock]) -> None:
    registry, clock = echo
    await registry.mark(mark(ttl=60))
    clock.now += 61
    assert not await registry.consume(consume())


async def test_ttl_is_capped_by_the_config(echo: tuple[EchoRegistry, Clock]) -> None:
    registry, clock = echo
    await registry.mark(mark(ttl=100_000))
    clock.now += 301
    assert not await registry.consume(consume())


async def test_redelivered_event_matches_again(echo: tuple[EchoRegistry, Clock]) -> None:
    registry, _ = echo
    await registry.mark(mark())
    assert await registry.consume(consume(event_id="e1"))
    assert await registry.consume(consume(event_id="e1"))
    assert not await registry.consume(consume(event_id="e2"))
