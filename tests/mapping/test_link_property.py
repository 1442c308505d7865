"""Property: however many tasks race to link one incident, and to whichever issues, exactly one
link exists afterwards, and every task's verdict agrees with it. Real nats-server, real KV."""

from __future__ import annotations

import asyncio
import itertools

import nats
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nats.js.kv import KeyValue
from pdjira_common import streams
from pdjira_common.contracts import IncidentRef, IssueRef, Link
from pdjira_common.streams import ensure_topology
from pdjira_devstack.nats_server import NatsServer
from pdjira_mapping.links import Verdict
from pdjira_mapping.store import KvLinkStore

_incidents = itertools.count()


async def _race(url: str, issue_choices: list[int], yields: list[int]) -> None:
    nc = await nats.connect(url)
    try:
        await ensure_topology(nc.jetstream())
        kv = await nc.jetstream().key_value(streams.KV_LINKS)

        async def open_bucket() -> KeyValue:
            return kv

        incident = IncidentRef(account="acme", incident_id=f"PPROP{next(_incidents)}")
        links = [
            Link(
                incident=incident,
                issue=IssueRef(
                    instance="dc1", issue_id=f"{incident.incident_id}-{n}", key=f"O-{n}"
                ),
                created_at=f"2026-01-01T00:00:{i % 60:02d}+00:00",
            )
            for i, n in enumerate(issue_choices)
        ]

        async def task(link: Link, pause: int) -> Verdict:
            for _ in range(pause):
                await asyncio.sleep(0)
            return (await KvLinkStore(open_bucket).record(link)).verdict

        verdicts = await asyncio.gather(
            *(task(link, pause) for link, pause in zip(links, yields, strict=True))
        )
        store = KvLinkStore(open_bucket)
        stored = await store.by_incident(incident)
        assert stored is not None
        assert verdicts.count(Verdict.CREATED) == 1
        winner = links[verdicts.index(Verdict.CREATED)]
        assert stored.issue.issue_id == winner.issue.issue_id
        for link, verdict in zip(links, verdicts, strict=True):
            same = link.issue.issue_id == winner.issue.issue_id
            assert verdict in ((Verdict.CREATED, Verdict.ALREADY) if same else (Verdict.CONFLICT,))
            by_issue = await store.by_issue("dc1", link.issue.issue_id)
            assert (by_issue is not None) == same
    finally:
        await nc.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.integers(min_value=2, max_value=40).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(min_value=0, max_value=3), min_size=n, max_size=n),
            st.lists(st.integers(min_value=0, max_value=5), min_size=n, max_size=n),
        )
    )
)
def test_concurrent_link_creation_yields_one_link(
    nats_server: NatsServer, race: tuple[list[int], list[int]]
) -> None:
    issue_choices, yields = race
    asyncio.run(_race(nats_server.url, issue_choices, yields))
