"""The links store's watch stops when told, even when an update arrives at that very moment
(Python 3.11's ``wait_for``, inside nats-py's ``updates``, swallows such a cancellation: the
service's shutdown then waited out its 5 s bound)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from nats.js.kv import KeyValue
from pdjira_mapping.store import KvLinkStore


class _Watcher:
    """nats-py's KeyWatcher as far as ``follow`` uses it: updates() is a wait_for on a queue."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.waiting = asyncio.Event()
        self.stopped = False

    async def updates(self, timeout: float = 5.0) -> Any:
        self.waiting.set()
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def stop(self) -> None:
        self.stopped = True


class _Bucket:
    def __init__(self, watcher: _Watcher) -> None:
        self.watcher = watcher

    async def watchall(self) -> _Watcher:
        return self.watcher


async def test_follow_stops_when_cancelled_as_an_update_arrives() -> None:
    watcher = _Watcher()

    async def open_bucket() -> KeyValue:
        return cast(KeyValue, _Bucket(watcher))

    task = asyncio.create_task(KvLinkStore(open_bucket).follow())
    await watcher.waiting.wait()
    watcher.queue.put_nowait(None)  # an update (the watch's "caught up" marker) ...
    task.cancel()  # ... and the stop, in the same turn of the loop
    done, _ = await asyncio.wait([task], timeout=2.0)
    assert done, "follow() kept watching after it was cancelled"
    assert task.cancelled()
    assert watcher.stopped
