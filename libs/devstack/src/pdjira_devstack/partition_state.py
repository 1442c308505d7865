"""Who holds which partition in a running stack (KV ``pdjira_partitions``), and a wait until
every replica holds its share: a measurement or a kill test starts from a settled stack, not
while replicas are still joining (the first to start takes every partition, then hands the
others' shares over as they join)."""

from __future__ import annotations

import nats.js.errors
from nats.js import JetStreamContext
from pdjira_common import streams, subjects
from pdjira_common.partitions import assign, units

from pdjira_devstack.stack import Stack, replica_id
from pdjira_devstack.waiting import wait_until

__all__ = ["PARTITIONED", "leases", "shared_out", "wait_partitions_settled"]

# The partitioned consumers of each service: the subject its lanes read.
PARTITIONED = {
    "rules": subjects.ALL_EVENTS,
    "jira-writer": subjects.ALL_COMMANDS_JIRA,
    "pd-writer": subjects.ALL_COMMANDS_PD,
}


async def leases(js: JetStreamContext) -> dict[str, str]:
    """The partition leases now: ``rules-p3`` -> the replica holding it (or ``released:n``)."""
    kv = await js.key_value(streams.KV_PARTITIONS)
    try:
        keys = await kv.keys()
    except nats.js.errors.NoKeysError:
        return {}
    held: dict[str, str] = {}
    for key in keys:
        if key.startswith("l."):
            try:
                entry = await kv.get(key)
            except nats.js.errors.KeyNotFoundError:  # expired meanwhile
                continue
            held[key.removeprefix("l.")] = (entry.value or b"").decode()
    return held


def shared_out(stack: Stack, held: dict[str, str], partitions: int = streams.PARTITIONS) -> bool:
    """Every replica of every partitioned service holds its share, as ``partitions.assign``
    splits them (none is still joining or leaving)."""
    for service, subject in PARTITIONED.items():
        ids = [replica_id(name) for name in stack.replicas(service)]
        all_units = units(service, subject, partitions)
        for me in ids:
            if any(held.get(unit.durable) != me for unit in assign(ids, all_units, me)):
                return False
    return True


async def wait_partitions_settled(
    stack: Stack, js: JetStreamContext, *, timeout: float = 60.0
) -> None:
    async def settled() -> bool:
        return shared_out(stack, await leases(js))

    await wait_until(settled, timeout=timeout, what="every replica holding its partitions")
