"""The mapping service on a real nats-server: links recorded from outcomes, lookups answered."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
import pytest
from faststream.nats import NatsBroker
from nats.aio.client import Client
from nats.js.kv import KeyValue
from pdjira_common import streams, subjects
from pdjira_common.contracts import (
    IncidentRef,
    IssueLinked,
    IssueRef,
    Link,
    LinkQuery,
    WriteSkipped,
    encode,
)
from pdjira_common.mapping_client import (
    MappingUnavailable,
    link_of_incident,
    link_of_issue,
    lookup_link,
)
from pdjira_devstack.waiting import wait_until
from pdjira_mapping.handlers import CONSUMER
from pdjira_mapping.links import Verdict
from pdjira_mapping.main import MappingService
from pdjira_mapping.store import KvLinkStore

INCIDENT = IncidentRef(account="acme", incident_id="PABC123")


def linked(
    issue_id: str, key: str, *, command_id: str, incident: IncidentRef = INCIDENT
) -> IssueLinked:
    return IssueLinked(
        command_id=command_id,
        correlation_id=f"corr-{command_id}",
        incident=incident,
        issue=IssueRef(instance="dc1", issue_id=issue_id, key=key),
        created=True,
    )


async def publish_outcome(nc: Client, outcome: msgspec.Struct, msg_id: str) -> None:
    ack = await nc.jetstream().publish(
        subjects.outcome("jira", "dc1"), encode(outcome), headers={"Nats-Msg-Id": msg_id}
    )
    assert not ack.duplicate


async def consumer_drained(nc: Client) -> bool:
    info = await nc.jetstream().consumer_info(streams.OUTCOMES, CONSUMER)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_issue_linked_is_found_both_ways(
    nc: Client, mapping: MappingService, requester: NatsBroker
) -> None:
    await publish_outcome(nc, linked("10001", "OPS-1", command_id="c1"), "outcome:c1")

    link = await wait_until(
        lambda: link_of_incident(requester, INCIDENT), timeout=10, what="the link by incident"
    )
    assert link.issue == IssueRef(instance="dc1", issue_id="10001", key="OPS-1")
    reverse = await link_of_issue(requester, "dc1", "10001")
    assert reverse is not None
    assert reverse.incident == INCIDENT
    assert await link_of_issue(requester, "dc1", "99999") is None
    other = IncidentRef(account="acme", incident_id="PNOPE00")
    assert await link_of_incident(requester, other) is None


async def test_conflicting_link_keeps_the_first(
    nc: Client, mapping: MappingService, requester: NatsBroker
) -> None:
    await publish_outcome(nc, linked("10001", "OPS-1", command_id="c1"), "outcome:c1")
    await publish_outcome(nc, linked("10002", "OPS-2", command_id="c2"), "outcome:c2")
    await wait_until(lambda: consumer_drained(nc), timeout=10, what="both outcomes consumed")

    link = await link_of_incident(requester, INCIDENT)
    assert link is not None
    assert link.issue.issue_id == "10001"
    # the loser's issue key was never written: the issue does not claim the incident
    assert await link_of_issue(requester, "dc1", "10002") is None
    assert mapping.metrics.links_recorded.labels(Verdict.CONFLICT.value)._value.get() == 1


async def test_redelivered_outcome_is_idempotent(
    nc: Client, mapping: MappingService, requester: NatsBroker
) -> None:
    # A writer that restarts publishes IssueLinked(created=False) under another command id.
    await publish_outcome(nc, linked("10001", "OPS-1", command_id="c1"), "outcome:c1")
    await publish_outcome(nc, linked("10001", "OPS-1", command_id="c9"), "outcome:c9")
    await wait_until(lambda: consumer_drained(nc), timeout=10, what="both outcomes consumed")
    link = await link_of_incident(requester, INCIDENT)
    assert link is not None
    assert link.issue.issue_id == "10001"
    assert mapping.metrics.links_recorded.labels(Verdict.CREATED.value)._value.get() == 1
    assert mapping.metrics.links_recorded.labels(Verdict.ALREADY.value)._value.get() == 1


async def test_other_outcomes_are_acked_and_ignored(
    nc: Client, mapping: MappingService, requester: NatsBroker
) -> None:
    await publish_outcome(
        nc, WriteSkipped(command_id="c3", correlation_id="x", reason="already there"), "o3"
    )
    ack = await nc.jetstream().publish(subjects.outcome("pd", "acme"), b'{"type": "future.v9"}')
    assert ack.seq
    await wait_until(lambda: consumer_drained(nc), timeout=10, what="outcomes acked")
    assert (await nc.jetstream().stream_info(streams.DLQ)).state.messages == 0
    assert await link_of_incident(requester, INCIDENT) is None


async def test_links_published_before_start_are_recorded(
    nc: Client, mapping_config, requester: NatsBroker
) -> None:
    from pdjira_mapping.main import create_service

    # OUTCOMES is a limits stream: a mapping that was down catches up from where it stopped.
    await publish_outcome(nc, linked("10001", "OPS-1", command_id="c1"), "outcome:c1")
    service = create_service(mapping_config)

    async def the_link() -> Link | None:
        # Under load the first lookup can come before the server has the responders' SUB.
        with contextlib.suppress(MappingUnavailable):
            return await link_of_incident(requester, INCIDENT)
        return None

    async with service.app:
        link = await wait_until(the_link, timeout=10, what="the link")
    assert link.issue.key == "OPS-1"


async def test_bad_query_gets_an_empty_reply_not_a_missing_link(
    mapping: MappingService, requester: NatsBroker
) -> None:
    with pytest.raises(MappingUnavailable, match="empty reply"):
        await lookup_link(requester, LinkQuery())
    response = await requester.request(b"not json", subjects.LINK_LOOKUP, timeout=2.0)
    assert response.body == b""


async def test_no_mapping_running_is_unavailable(requester: NatsBroker) -> None:
    with pytest.raises(MappingUnavailable):
        await link_of_incident(requester, INCIDENT)


async def _bucket(nc: Client) -> KeyValue:
    return await nc.jetstream().key_value(streams.KV_LINKS)


async def test_concurrent_creation_yields_one_link(nc: Client) -> None:
    kv = await _bucket(nc)

    async def open_bucket() -> KeyValue:
        return kv

    # Many stores, as many mapping replicas would be, racing on one incident.
    stores = [KvLinkStore(open_bucket) for _ in range(20)]
    links = [
        Link(
            incident=INCIDENT,
            issue=IssueRef(instance="dc1", issue_id=str(10000 + i), key=f"OPS-{i}"),
            created_at="2026-01-01T00:00:00+00:00",
        )
        for i in range(20)
    ]
    results = await asyncio.gather(*(s.record(link) for s, link in zip(stores, links, strict=True)))

    verdicts = [r.verdict for r in results]
    assert verdicts.count(Verdict.CREATED) == 1
    assert verdicts.count(Verdict.CONFLICT) == 19
    winner = links[verdicts.index(Verdict.CREATED)]
    stored = await stores[0].by_incident(INCIDENT)
    assert stored is not None
    assert stored.issue == winner.issue
    for link in links:
        by_issue = await stores[0].by_issue("dc1", link.issue.issue_id)
        assert (by_issue is not None) == (link is winner)


async def test_concurrent_same_link_is_created_once(nc: Client) -> None:
    kv = await _bucket(nc)

    async def open_bucket() -> KeyValue:
        return kv

    link = Link(
        incident=INCIDENT,
        issue=IssueRef(instance="dc1", issue_id="10001", key="OPS-1"),
        created_at="2026-01-01T00:00:00+00:00",
    )
    results = await asyncio.gather(*(KvLinkStore(open_bucket).record(link) for _ in range(20)))
    verdicts = [r.verdict for r in results]
    assert verdicts.count(Verdict.CREATED) == 1
    assert verdicts.count(Verdict.ALREADY) == 19
    assert (await kv.status()).values == 3  # one key per side, each written once, + key index


async def test_interrupted_record_is_completed_by_the_redelivery(nc: Client) -> None:
    kv = await _bucket(nc)

    async def open_bucket() -> KeyValue:
        return kv

    link = Link(
        incident=INCIDENT,
        issue=IssueRef(instance="dc1", issue_id="10001", key="OPS-1"),
        created_at="2026-01-01T00:00:00+00:00",
    )
    # A crash after the first of the two writes: only the incident side exists.
    await kv.create("pd.acme.PABC123", encode(link))
    store = KvLinkStore(open_bucket)
    assert await store.by_issue("dc1", "10001") is None
    result = await store.record(link)
    assert result.verdict is Verdict.ALREADY
    assert await store.by_issue("dc1", "10001") == link


async def test_an_unlink_on_one_replica_reaches_the_others(
    nc: Client, mapping_config, requester: NatsBroker
) -> None:
    from pdjira_mapping.main import create_service

    one, two = create_service(mapping_config), create_service(mapping_config)
    async with one.app, two.app:
        await publish_outcome(nc, linked("10001", "OPS-1", command_id="c1"), "outcome:c1")
        link = await wait_until(
            lambda: two.store.by_incident(INCIDENT), timeout=10, what="the link on replica two"
        )
        assert await one.store.by_incident(INCIDENT) == link  # both hold it in memory now
        await one.store.unlink(link)

        async def gone_on_two() -> bool:
            return await two.store.by_incident(INCIDENT) is None

        await wait_until(gone_on_two, timeout=10, what="replica two forgetting the link")
        assert await link_of_incident(requester, INCIDENT) is None
