"""The link store keeps only recent links in memory (a bounded LRU) and reads the rest from KV;
an invalidated link is never served from memory, "not linked" is never kept, and a service
started on a big bucket reads none of it."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec
import pytest
from nats.aio.client import Client
from nats.js.kv import KeyValue
from pdjira_common import streams
from pdjira_common.config import Config
from pdjira_common.contracts import IncidentRef, IssueRef, Link, encode
from pdjira_common.mapping_client import link_of_incident, link_of_issue
from pdjira_devstack.waiting import wait_until
from pdjira_mapping.main import create_service
from pdjira_mapping.store import KvLinkStore


def _link(n: int) -> Link:
    return Link(
        incident=IncidentRef(account="acme", incident_id=f"P{n:07d}"),
        issue=IssueRef(instance="dc1", issue_id=str(10000 + n), key=f"OPS-{n}"),
        created_at="2026-01-01T00:00:00+00:00",
    )


class _CountingBucket:
    """The real bucket, counting gets; ``hold`` makes the next get wait until it is set."""

    def __init__(self, kv: KeyValue) -> None:
        self.kv = kv
        self.gets = 0
        self.hold: asyncio.Event | None = None
        self.holding = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.kv, name)

    async def get(self, key: str) -> Any:
        self.gets += 1
        entry = await self.kv.get(key)
        if self.hold is not None:
            hold, self.hold = self.hold, None
            self.holding.set()
            await hold.wait()
        return entry


async def _bucket(nc: Client) -> _CountingBucket:
    return _CountingBucket(await nc.jetstream().key_value(streams.KV_LINKS))


def _store(bucket: _CountingBucket, **kwargs: Any) -> KvLinkStore:
    async def open_bucket() -> KeyValue:
        return bucket  # type: ignore[return-value]

    return KvLinkStore(open_bucket, **kwargs)


async def test_memory_is_bounded_and_a_link_not_held_is_read_from_kv(nc: Client) -> None:
    bucket = await _bucket(nc)
    writer, store = _store(bucket), _store(bucket, cache_size=3)
    for n in range(10):
        await writer.record(_link(n))
    for n in range(10):
        assert await store.by_incident(_link(n).incident) == _link(n)
    assert store.cached() == 3
    gets = bucket.gets
    assert await store.by_incident(_link(9).incident) == _link(9)  # recent: from memory
    assert bucket.gets == gets
    assert await store.by_incident(_link(0).incident) == _link(0)  # evicted: read again
    assert bucket.gets == gets + 1
    assert store.cached() == 3


async def test_not_linked_is_never_kept(nc: Client) -> None:
    bucket = await _bucket(nc)
    store = _store(bucket)
    assert await store.by_incident(_link(1).incident) is None
    await _store(bucket).record(_link(1))  # linked by another replica, no broadcast needed
    assert await store.by_incident(_link(1).incident) == _link(1)


async def test_an_unlink_broadcast_drops_the_link_from_memory(nc: Client) -> None:
    bucket = await _bucket(nc)
    other = _store(bucket)

    async def broadcast(keys: list[str]) -> None:
        other.forget_cached(keys)

    one = _store(bucket, on_removed=broadcast)
    await one.record(_link(1))
    assert await other.by_incident(_link(1).incident) == _link(1)
    assert await other.by_issue("dc1", "10001") == _link(1)
    await one.unlink(_link(1))
    assert await other.by_incident(_link(1).incident) is None
    assert await other.by_issue("dc1", "10001") is None


async def test_a_read_under_way_when_the_link_is_removed_is_not_kept(nc: Client) -> None:
    bucket = await _bucket(nc)
    store = _store(bucket)
    await _store(bucket).record(_link(1))
    bucket.hold = hold = asyncio.Event()
    reading = asyncio.create_task(store.by_incident(_link(1).incident))
    await bucket.holding.wait()  # the read has the link ...
    await bucket.kv.delete("pd.acme.P0000001")  # ... as another replica unlinks it
    store.forget_cached(["pd.acme.P0000001"])  # and its broadcast arrives
    hold.set()
    assert await reading == _link(1)  # that read answered what was true when it began
    assert await store.by_incident(_link(1).incident) is None  # but did not keep it


async def test_a_key_deleted_in_kv_without_a_broadcast_is_dropped_by_the_watch(
    nc: Client,
) -> None:
    bucket = await _bucket(nc)
    store = _store(bucket)
    follow = asyncio.create_task(store.follow())
    try:
        await asyncio.sleep(0.2)  # the watch is in place
        await store.record(_link(1))
        assert await store.by_incident(_link(1).incident) == _link(1)
        assert store.cached() == 1
        await bucket.kv.delete("pd.acme.P0000001")  # an operator, with the nats CLI

        async def gone() -> bool:
            return await store.by_incident(_link(1).incident) is None

        await wait_until(gone, timeout=5, what="the deleted link dropped from memory")
    finally:
        follow.cancel()
        await asyncio.wait([follow], timeout=3)


async def test_a_link_is_not_kept_longer_than_the_max_age(nc: Client) -> None:
    bucket = await _bucket(nc)
    now = [1000.0]
    store = _store(bucket, cache_max_age=60.0, clock=lambda: now[0])
    await store.record(_link(1))
    await store.by_incident(_link(1).incident)
    gets = bucket.gets
    now[0] += 59.0
    await store.by_incident(_link(1).incident)
    assert bucket.gets == gets
    now[0] += 2.0
    assert await store.by_incident(_link(1).incident) == _link(1)
    assert bucket.gets == gets + 1


@pytest.mark.timeout(120)
async def test_a_service_started_on_many_links_reads_none_and_finds_any(
    nc: Client, mapping_config: Config, requester: Any, caplog: pytest.LogCaptureFixture
) -> None:
    count = 20_000  # 40,000 keys
    js = nc.jetstream()
    for first in range(0, count, 2000):
        acks = []
        for n in range(first, first + 2000):
            data = encode(_link(n))
            acks.append(js.publish(f"$KV.{streams.KV_LINKS}.pd.acme.P{n:07d}", data))
            acks.append(js.publish(f"$KV.{streams.KV_LINKS}.jira.dc1.{10000 + n}", data))
        await asyncio.gather(*acks)
    service = create_service(mapping_config)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        async with service.app:
            assert time.perf_counter() - started < 10.0  # nothing read at start
            for n in (0, count // 2, count - 1):
                assert await link_of_incident(requester, _link(n).incident) == _link(n)
                assert await link_of_issue(requester, "dc1", str(10000 + n)) == _link(n)
            assert service.store.cached() == 6  # what was asked, not the bucket
    assert not [r for r in caplog.records if "slow consumer" in r.getMessage().lower()]


async def test_export_streams_every_link_once_in_batches(nc: Client) -> None:
    """Export reads with a pull consumer, a batch at a time: every stored link once, none that
    was unlinked (a KV watch pushing everything at once drops keys past nats-py's limit)."""
    bucket = await _bucket(nc)
    store = _store(bucket)
    links = [_link(n) for n in range(2_500)]  # more than two export batches
    await asyncio.gather(*(store.record(link) for link in links))
    for link in links[:10]:
        await store.unlink(link)

    exported = [link async for link in store.export()]

    assert sorted(x.incident.incident_id for x in exported) == sorted(
        x.incident.incident_id for x in links[10:]
    )
    assert await nc.jetstream().streams_info()  # the server is fine
    empty = _store(await _bucket(nc))
    for link in links[10:]:
        await empty.unlink(link)
    assert [link async for link in empty.export()] == []


async def test_the_configured_cache_size_bounds_the_service(
    nc: Client, mapping_config: Config, requester: Any
) -> None:
    js = nc.jetstream()
    for n in range(5):
        await js.publish(f"$KV.{streams.KV_LINKS}.pd.acme.P{n:07d}", encode(_link(n)))
    settings = msgspec.structs.replace(mapping_config.mapping, link_cache_size=2)
    service = create_service(msgspec.structs.replace(mapping_config, mapping=settings))
    async with service.app:
        for n in range(5):
            assert await link_of_incident(requester, _link(n).incident) == _link(n)
        assert service.store.cached() == 2
