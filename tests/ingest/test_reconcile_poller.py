"""The reconciliation poller on a real nats-server, with both simulators sending webhooks to a
served ingest and both writers answering the poller's reads: a change whose webhook was dropped
is published by the poller under the change's stable id, one whose webhook came is not
published twice, one poller per target, and a restart resumes from the watermark."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from nats.js.errors import KeyNotFoundError
from pdjira_common import streams
from pdjira_common.bus import make_broker
from pdjira_common.config import Config, RetrySettings, parse_config
from pdjira_common.contracts import AnyEvent, decode_event
from pdjira_common.headers import MSG_ID_HEADER
from pdjira_common.streams import Topology
from pdjira_devstack.nats_server import NatsServer
from pdjira_devstack.waiting import wait_until
from pdjira_ingest.app import create_app
from pdjira_ingest.metrics import IngestMetrics
from pdjira_ingest.reconcile.poller import Reconciler, Target
from pdjira_jira_writer.main import create_service as create_jira_writer
from pdjira_mapping.main import create_service as create_mapping
from pdjira_pd_writer.main import create_service as create_pd_writer
from pdjira_simulators.jira import JiraSettings
from pdjira_simulators.jira import create_app as create_jira
from pdjira_simulators.pagerduty import PagerDutySettings
from pdjira_simulators.pagerduty import create_app as create_pd
from pdjira_simulators.testing import running_server
from support.writers import FAST_RETRY, Running

PD_TOKEN = "pd-recon-token-7c1e"
PD_SECRET = "pd-recon-secret-1b2c"
JIRA_USER = "pdjira"
JIRA_PASSWORD = "jira-recon-password-4d5e"
JIRA_SECRET = "jira-recon-secret-6f7a"
PD = Target("pagerduty", "acme")
JIRA = Target("jira", "dc1")


def make_config(nats_url: str, pd_url: str, jira_url: str, **reconcile: Any) -> Config:
    return parse_config(
        {
            "nats": {"url": nats_url},
            "pagerduty_accounts": [
                {
                    "id": PD.id,
                    "api_url": pd_url,
                    "token": PD_TOKEN,
                    "from_email": "pdjira-bot@example.com",
                    "webhook_secrets": [PD_SECRET],
                }
            ],
            "jira_instances": [
                {
                    "id": JIRA.id,
                    "base_url": jira_url,
                    "auth": {"type": "basic", "username": JIRA_USER, "password": JIRA_PASSWORD},
                    "webhook_secret": JIRA_SECRET,
                }
            ],
            "retry": FAST_RETRY,
            # The served ingest does not poll: each test runs its own pollers.
            "reconcile": {"enabled": False, "settle": 0, "interval": 0.5, **reconcile},
        }
    )


@dataclass
class Stack:
    nc: Client
    http: httpx.AsyncClient
    pd_url: str
    jira_url: str
    pd_app: Any
    jira_app: Any
    config: Config
    pollers: list[Reconciler] = field(default_factory=list)

    # ------------------------------------------------------------ a person's actions

    async def post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(url, json=body)
        response.raise_for_status()
        return dict(response.json())

    async def trigger(self, title: str = "Checkout is down") -> str:
        body = await self.post(f"{self.pd_url}/_sim/incidents", {"title": title})
        return str(body["incident"]["id"])

    async def pd_status(self, incident_id: str, status: str) -> None:
        await self.post(f"{self.pd_url}/_sim/incidents/{incident_id}/status", {"status": status})

    async def note(self, incident_id: str, content: str) -> str:
        body = await self.post(
            f"{self.pd_url}/_sim/incidents/{incident_id}/notes", {"content": content}
        )
        return str(body["note"]["id"])

    async def create_issue(self, summary: str, as_user: str = "jdoe") -> dict[str, Any]:
        return await self.post(
            f"{self.jira_url}/_sim/issues", {"summary": summary, "as_user": as_user}
        )

    async def move(self, key: str, status: str, as_user: str = "jdoe") -> None:
        await self.post(
            f"{self.jira_url}/_sim/issues/{key}/transition", {"status": status, "as_user": as_user}
        )

    async def comment(self, key: str, body: str, as_user: str = "jdoe") -> str:
        made = await self.post(
            f"{self.jira_url}/_sim/issues/{key}/comment", {"body": body, "as_user": as_user}
        )
        return str(made["id"])

    async def drop_webhooks(self) -> None:
        for url in (self.pd_url, self.jira_url):
            body = {"drop_rate": 1.0}
            (await self.http.put(f"{url}/_sim/webhook-faults", json=body)).raise_for_status()

    async def webhooks_sent(self) -> None:
        """Every webhook queued so far was attempted (delivered, or dropped by a fault)."""
        await self.pd_app.state.sim.dispatcher.idle()
        await self.jira_app.state.sim.dispatcher.idle()

    # ------------------------------------------------------------ what pdjira did

    async def stored(self) -> dict[str, AnyEvent]:
        """Every event in stream EVENTS by its Nats-Msg-Id."""
        js = self.nc.jetstream()
        info = await js.stream_info(streams.EVENTS)
        found: dict[str, AnyEvent] = {}
        if not info.state.messages:
            return found
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(streams.EVENTS, seq)
            found[(msg.headers or {})[MSG_ID_HEADER]] = decode_event(msg.data or b"")
        return found

    def poller(self, *, later: float = 2.0, **options: Any) -> Reconciler:
        """A poller whose clock runs ``later`` seconds ahead (so this second's changes are in
        its window); started by the test, stopped after it."""
        broker = make_broker(self.config.nats.url, consumer="ingest", retry=RetrySettings())
        config = options.pop("config", self.config)
        poller = Reconciler(
            config,
            broker,
            IngestMetrics(),
            clock=lambda: datetime.now(UTC) + timedelta(seconds=later),
            **options,
        )
        self.pollers.append(poller)
        return poller


async def started(poller: Reconciler, *, holding: bool = True) -> Reconciler:
    """Started; with ``holding``, once it holds every target's lease (a poll that ends without
    it does not move the watermark)."""
    await poller.broker.connect()
    await poller.start()

    async def held() -> bool:
        return all(lease.held for lease in poller.leases.values())

    if holding:
        await wait_until(held, timeout=5, what="the poller's leases")
    return poller


async def stopped(poller: Reconciler) -> None:
    await poller.stop()
    await poller.broker.stop()


@pytest.fixture
async def stack(nats_server: NatsServer, nc: Client) -> AsyncIterator[Stack]:
    pd_app = create_pd(PagerDutySettings(token=PD_TOKEN, seed=11, webhook_retry_delay=0.05))
    jira_app = create_jira(JiraSettings(username=JIRA_USER, password=JIRA_PASSWORD, seed=11))
    async with (
        running_server(pd_app) as pd_url,
        running_server(jira_app) as jira_url,
        httpx.AsyncClient(timeout=10.0) as http,
    ):
        config = make_config(nats_server.url, pd_url, jira_url)
        broker = make_broker(nats_server.url, consumer="ingest", retry=RetrySettings())
        ingest = create_app(config, broker, topology=Topology(events_duplicate_window=120.0))
        async with (
            running_server(ingest) as ingest_url,
            Running(create_pd_writer(config)),
            Running(create_jira_writer(config)),
        ):
            target = {"url": f"{ingest_url}/webhooks/pagerduty/{PD.id}", "secrets": [PD_SECRET]}
            await http.put(f"{pd_url}/_sim/webhook-target", json=target)
            target = {"url": f"{ingest_url}/webhooks/jira/{JIRA.id}", "secret": JIRA_SECRET}
            await http.put(f"{jira_url}/_sim/webhook-target", json=target)
            running = Stack(nc, http, pd_url, jira_url, pd_app, jira_app, config)
            try:
                yield running
            finally:
                for poller in running.pollers:
                    await stopped(poller)


def counted(poller: Reconciler, name: str, **labels: str) -> float:
    return poller.metrics.registry.get_sample_value(name + "_total", labels) or 0.0


# ---------------------------------------------------------------------------- Jira


async def test_jira_changes_whose_webhooks_were_dropped_are_published(stack: Stack) -> None:
    await stack.drop_webhooks()
    issue = await stack.create_issue("Checkout latency")
    await stack.move(issue["key"], "In Progress")
    comment_id = await stack.comment(issue["key"], "Looking at the pods")
    await stack.comment(issue["key"], "pdjira's own copy of a note", as_user=JIRA_USER)
    await stack.webhooks_sent()
    assert await stack.stored() == {}  # nothing came through

    poller = await started(stack.poller())
    assert await poller.poll(JIRA)

    stored = await stack.stored()
    created = stored.pop(f"jira:dc1:{issue['id']}:created")
    commented = stored.pop(f"jira:dc1:{issue['id']}:c{comment_id}")
    [(history_id, moved)] = stored.items()  # pdjira's own comment is not among them
    assert history_id.startswith(f"jira:dc1:{issue['id']}:h")
    assert {created.origin, moved.origin, commented.origin} == {"reconcile"}
    assert created.event_id == f"jira:dc1:{issue['id']}:created"  # event id = msg id
    assert (created.webhook_event, created.status) == ("jira:issue_created", "To Do")
    assert moved.changed("status") is not None
    assert moved.status == "In Progress"
    assert commented.is_comment
    assert commented.comment is not None
    assert commented.comment.body == "Looking at the pods"
    assert (
        counted(poller, "pdjira_ingest_reconcile_events", source="jira", outcome="published") == 3
    )


async def test_a_change_whose_webhook_came_is_not_published_twice(stack: Stack) -> None:
    issue = await stack.create_issue("Disk full")
    await stack.move(issue["key"], "In Progress")
    await stack.comment(issue["key"], "Cleaning up /var")
    incident_id = await stack.trigger()
    await stack.pd_status(incident_id, "acknowledged")
    await stack.note(incident_id, "On it")
    await stack.webhooks_sent()
    before = await stack.stored()
    assert len(before) == 6  # every webhook stored, under the change's stable id

    poller = await started(stack.poller())
    assert await poller.poll(JIRA)
    assert await poller.poll(PD)

    assert await stack.stored() == before
    for source in ("jira", "pagerduty"):
        labels = {"source": source}
        assert counted(poller, "pdjira_ingest_reconcile_events", **labels, outcome="published") == 0
        # 3 per poll: its own loop may have polled once too, beside the polls above.
        duplicates = counted(
            poller, "pdjira_ingest_reconcile_events", **labels, outcome="duplicate"
        )
        assert duplicates in (3, 6)


# ---------------------------------------------------------------------------- PagerDuty


async def test_pagerduty_changes_whose_webhooks_were_dropped_are_published(stack: Stack) -> None:
    await stack.drop_webhooks()
    incident_id = await stack.trigger()
    await stack.pd_status(incident_id, "acknowledged")
    note_id = await stack.note(incident_id, "Rolling back")
    await stack.pd_status(incident_id, "resolved")
    await stack.webhooks_sent()

    poller = await started(stack.poller())
    assert await poller.poll(PD)

    stored = await stack.stored()
    assert stored.pop(f"pd:acme:{incident_id}:n{note_id}").is_note  # type: ignore[union-attr]
    kinds = {msg_id.split(":")[3]: event for msg_id, event in stored.items()}
    assert sorted(kinds) == ["incident.acknowledged", "incident.resolved", "incident.triggered"]
    assert [kinds[k].status for k in sorted(kinds)] == ["acknowledged", "resolved", "triggered"]
    assert all(e.origin == "reconcile" for e in stored.values())


# ---------------------------------------------------------------------------- the loop


async def test_the_loop_publishes_a_dropped_change_within_one_interval(stack: Stack) -> None:
    poller = await started(stack.poller())
    await wait_until(lambda: _polled(poller), timeout=5, what="a first poll")
    await stack.drop_webhooks()
    issue = await stack.create_issue("Queue backlog")

    async def published() -> bool:
        return f"jira:dc1:{issue['id']}:created" in await stack.stored()

    # interval 0.5 s: well within a few intervals, with the writer's answer.
    await wait_until(published, timeout=5, what="the synthetic issue_created")


async def _polled(poller: Reconciler) -> bool:
    return counted(poller, "pdjira_ingest_reconcile_polls", source="jira", outcome="ok") > 0


async def test_two_pollers_one_active_and_the_other_takes_over(stack: Stack) -> None:
    one = await started(stack.poller(renew_every=0.2), holding=False)
    two = await started(stack.poller(renew_every=0.2), holding=False)

    async def settled() -> bool:
        return all(one.leases[t].held != two.leases[t].held for t in (PD, JIRA))

    await wait_until(settled, timeout=5, what="one holder per target")
    holder, other = (one, two) if one.leases[JIRA].held else (two, one)
    await asyncio.sleep(0.6)  # several renewals: the holder keeps it
    assert holder.leases[JIRA].held
    assert not other.leases[JIRA].held

    await stopped(holder)
    stack.pollers.remove(holder)

    async def taken_over() -> bool:
        return other.leases[JIRA].held and other.leases[PD].held

    await wait_until(taken_over, timeout=5, what="the other poller taking over")


async def test_restart_resumes_from_the_watermark(stack: Stack) -> None:
    config = make_config(stack.config.nats.url, stack.pd_url, stack.jira_url, lookback=0)
    await stack.drop_webhooks()
    first = await stack.create_issue("Before the restart")
    poller = await started(stack.poller(config=config))
    assert await poller.poll(JIRA)
    assert f"jira:dc1:{first['id']}:created" in await stack.stored()
    await stopped(poller)
    stack.pollers.remove(poller)
    await stack.nc.jetstream().purge_stream(streams.EVENTS)  # no dedup can hide a replay now

    await asyncio.sleep(2.1)  # past the first poll's window (its clock runs 2 s ahead)
    second = await stack.create_issue("After the restart")
    again = await started(stack.poller(config=config, later=4.0))
    assert await again.poll(JIRA)

    assert list(await stack.stored()) == [f"jira:dc1:{second['id']}:created"]


async def test_a_vendor_error_is_retried_on_the_next_poll(stack: Stack) -> None:
    await stack.drop_webhooks()
    issue = await stack.create_issue("Payments 500s")
    faults = {"error_rate": 1.0}
    (await stack.http.put(f"{stack.jira_url}/_sim/faults", json=faults)).raise_for_status()
    poller = await started(stack.poller())

    assert not await poller.poll(JIRA)  # Jira answers 503: the writer says so, nothing moves
    labels = {"source": "jira", "reason": "writer_error"}
    assert counted(poller, "pdjira_ingest_reconcile_errors", **labels) == 1
    kv = await stack.nc.jetstream().key_value(streams.KV_RECONCILE)
    with pytest.raises(KeyNotFoundError):
        await kv.get(JIRA.key)

    (await stack.http.delete(f"{stack.jira_url}/_sim/faults")).raise_for_status()
    assert await poller.poll(JIRA)
    assert f"jira:dc1:{issue['id']}:created" in await stack.stored()
    assert (await kv.get(JIRA.key)).value


async def test_no_writer_answering_is_an_error_not_a_crash(stack: Stack) -> None:
    config = parse_config(
        {
            "nats": {"url": stack.config.nats.url},
            "pagerduty_accounts": [{"id": "other", "token": "t", "from_email": "a@example.com"}],
        }
    )
    other = Target("pagerduty", "other")
    poller = await started(stack.poller(config=config, read_timeout=0.5))
    # The pd-writer of this test knows only "acme": it refuses, as a writer would that is gone.
    assert not await poller.poll(other)
    await stopped(poller)
    stack.pollers.remove(poller)
    assert not await poller.poll(other)  # NATS gone as well: still an answer, no exception


# ---------------------------------------------------------------------------- repair


async def test_an_unlinked_incident_gets_its_trigger_decided_again_once(stack: Stack) -> None:
    incident_id = await stack.trigger()
    await stack.webhooks_sent()  # delivered: the synthetic copy is a duplicate
    mapping = parse_config({"nats": {"url": stack.config.nats.url}})
    async with Running(create_mapping(mapping)):
        # Late enough that the trigger had its whole interval to be decided (and linked).
        poller = await started(stack.poller(later=3.0))
        assert await poller.poll(PD)
        assert await poller.poll(PD)

    repaired = [k for k in await stack.stored() if k.startswith("recon:")]
    assert repaired == [f"recon:pd:acme:{incident_id}:incident.triggered:" + repaired[0][-20:]]
    assert (
        counted(poller, "pdjira_ingest_reconcile_events", source="pagerduty", outcome="repaired")
        == 1
    )


async def test_an_unlinked_incident_is_repaired_with_what_happened_to_it_since(
    stack: Stack,
) -> None:
    """Its trigger webhook was lost (no link), a note came and was skipped as "not linked":
    the repair re-publishes the trigger and then the note, in that order (the note then waits
    in the entity's lane for the link the trigger's issue brings)."""
    incident_id = await stack.trigger()
    note_id = await stack.note(incident_id, "the primary is back")
    await stack.webhooks_sent()
    mapping = parse_config({"nats": {"url": stack.config.nats.url}})
    async with Running(create_mapping(mapping)):
        poller = await started(stack.poller(later=3.0))
        assert await poller.poll(PD)

    repaired = [k for k in await stack.stored() if k.startswith("recon:")]
    assert len(repaired) == 2
    assert repaired[0].startswith(f"recon:pd:acme:{incident_id}:incident.triggered:")
    assert repaired[1] == f"recon:pd:acme:{incident_id}:n{note_id}"


async def test_a_lost_trigger_published_brings_the_note_decided_without_it_again(
    stack: Stack,
) -> None:
    """The trigger's webhook was lost, the note's came (and was skipped: no link): the poller
    publishes the trigger, then the note once more, after it."""
    await stack.drop_webhooks()
    incident_id = await stack.trigger()
    await stack.webhooks_sent()
    faults = f"{stack.pd_url}/_sim/webhook-faults"
    (await stack.http.put(faults, json={"drop_rate": 0.0})).raise_for_status()  # flowing again
    note_id = await stack.note(incident_id, "the primary is back")
    await stack.webhooks_sent()
    poller = await started(stack.poller())
    assert await poller.poll(PD)

    stored = list(await stack.stored())
    trigger = next(k for k in stored if k.startswith(f"pd:acme:{incident_id}:incident.triggered"))
    note = f"pd:acme:{incident_id}:n{note_id}"
    assert stored.index(note) < stored.index(trigger)  # the webhook came first
    assert stored[stored.index(trigger) + 1 :] == [f"recon:{note}"]
