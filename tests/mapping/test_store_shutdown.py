"""The links store's watch of changes stops when told, promptly (the service's shutdown waits
for it at most 5 s), and leaves no subscription behind."""

from __future__ import annotations

import asyncio

from nats.aio.client import Client
from nats.js.kv import KeyValue
from pdjira_common import streams
from pdjira_mapping.store import KvLinkStore


async def test_follow_stops_when_cancelled_as_an_update_arrives(nc: Client) -> None:
    kv = await nc.jetstream().key_value(streams.KV_LINKS)

    async def open_bucket() -> KeyValue:
        return kv

    subscriptions = len(nc._subs)
    task = asyncio.create_task(KvLinkStore(open_bucket).follow())

    async def watching() -> None:
        while len(nc._subs) == subscriptions:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(watching(), 5.0)
    await kv.put("pd.acme.PABC123", b"{}")  # an update ...
    task.cancel()  # ... and the stop, at that very moment
    done, _ = await asyncio.wait([task], timeout=2.0)
    assert done, "follow() kept watching after it was cancelled"
    assert task.cancelled()
    assert len(nc._subs) == subscriptions
