"""Three replicas of rules and of the jira-writer; one of each is killed (kill -9) in the middle
of a burst of notes. Afterwards every incident has exactly one issue, and its notes are its
comments, each once, in the order their events were stored in the EVENTS stream: nothing of an
entity was applied after a later event of it, and nothing was lost.

The order to keep is the stream's, not the order the notes were added in: the PagerDuty
simulator may deliver an incident's webhooks concurrently. Partitioned consumption is what is
under test (``partition_lanes``): the killed replicas' partitions are taken over by the others
once their leases expire (short here: ``nats.partition_lease_ttl``), after an ack wait so the
messages the dead replica held come back first; the killed replicas then start again and the
others hand those partitions back to them, in the middle of the work if it is not done yet.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from pdjira_common import streams
from pdjira_common.contracts import IncidentEvent, decode_event
from pdjira_devstack.chaos_checks import read_stream
from pdjira_devstack.demo import trigger_incident
from pdjira_devstack.partition_state import leases, shared_out
from pdjira_devstack.stack import ACCOUNT, Stack, StackSettings, replica_id
from pdjira_devstack.waiting import SimulatorState, wait_drained, wait_until

from .helpers import add_note, notes_of

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-replicas-kill-stack")]

INCIDENTS = 30
NOTES = 6  # per incident: note-<i>-<k>, added in k order
TOTAL = INCIDENTS * NOTES
# Comments in Jira when the replicas are killed: early in the burst (on a loaded machine the
# test observes late, and a later kill found the burst already done).
KILL_AFTER = 3
KILLED = ("rules#2", "jira-writer#2")  # the first choice; see holders()
DURABLES = ("rules", "jira-writer")  # and their partitions' (rules-p3)
QUIET_TIMEOUT = 90.0  # a bound for a loaded machine; a lease, an ack wait, a restart

SETTINGS = StackSettings(
    ack_wait=3.0,
    base_delay=0.2,
    max_delay=2.0,
    webhook_retry_delay=0.5,
    replicas={"rules": 3, "jira-writer": 3},
    # A killed replica's partitions are free 3 s after its last renewal (default 15 s).
    extra_config={"nats": {"partition_lease_ttl": 3.0}},
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir: Path = tmp_path_factory.mktemp("replicas-kill-stack")
    with Stack(workdir, SETTINGS) as running:
        yield running


# ------------------------------------------------------------------------------ reading


def holders(held: dict[str, str]) -> tuple[str, ...]:
    """Per service of KILLED, the replica to kill: the first choice while it holds partitions,
    else another that does (on a loaded machine a replica can miss renewing its leases and
    hand them on before the kill; killing one that holds nothing would test nothing)."""
    chosen = []
    for first in KILLED:
        service = first.partition("#")[0]
        others = [service, f"{service}#2", f"{service}#3"]  # process names of the 3 replicas
        candidates = [first, *(name for name in others if name != first)]
        chosen.append(next((c for c in candidates if of_replica(held, c)), first))
    return tuple(chosen)


def of_replica(held: dict[str, str], name: str) -> list[str]:
    """The durables ``name`` (a process name: ``rules#2``) holds in ``held``."""
    me = replica_id(name)
    return sorted(durable for durable, holder in held.items() if holder == me)


async def comments_by_incident(
    sims: SimulatorState, issue_of: dict[str, str]
) -> dict[str, list[str]]:
    """Each incident's comments that mirror our notes: the note texts, in Jira's order."""
    response = await sims.client.get(f"{sims.jira_url}/_sim/state", params={"brief": "1"})
    response.raise_for_status()
    by_key = {issue["key"]: issue for issue in response.json()["issues"]}
    out: dict[str, list[str]] = {}
    for incident_id, key in issue_of.items():
        comments = by_key[key]["fields"]["comment"]["comments"]
        # The writer posts "[<who> in PagerDuty]\n<note text>".
        texts = [c["body"].strip().splitlines()[-1] for c in comments]
        out[incident_id] = [t for t in texts if t.startswith("note-")]
    return out


async def stored_notes(bus: Client, ours: set[str]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Per incident: its note texts in EVENTS stream order (a note stored twice counts at its
    first place), and the partition its events are stored in."""
    order: dict[str, list[str]] = {incident_id: [] for incident_id in ours}
    partition: dict[str, int] = {}
    for raw in await read_stream(bus.jetstream(), streams.EVENTS, "events.pd.>"):
        event = decode_event(raw)
        if not isinstance(event, IncidentEvent) or event.incident_id not in ours:
            continue
        if (
            event.is_note
            and event.note is not None
            and event.note.content not in order[event.incident_id]
        ):
            order[event.incident_id].append(event.note.content)
    # The partition is in the stored subject: events.pd.<p>.<account>.<incident>.
    sub = await bus.jetstream().subscribe(
        "events.pd.>", stream=streams.EVENTS, ordered_consumer=True
    )
    try:
        while len(partition) < len(ours):
            msg = await sub.next_msg(timeout=5.0)
            tokens = msg.subject.split(".")
            if tokens[4] in ours:
                partition[tokens[4]] = int(tokens[2])
    finally:
        await sub.unsubscribe()
    return order, partition


def _now() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]


class Trace:
    """What the server hands the services' pull requests and what they answer (ack, nak,
    in progress), as seen on the bus: the evidence a failure reports. A delivery is a message
    on an inbox whose reply subject is ``$JS.ACK.<stream>.<consumer>.<delivered>.<seq>...``."""

    def __init__(self) -> None:
        self.subject_of: dict[str, str] = {}  # ack reply subject -> the message's subject
        self.lines: list[tuple[str, str, str]] = []  # (UTC time as in the logs, subject, what)

    async def start(self, nc: Client) -> None:
        await nc.subscribe("_INBOX.>", cb=self._delivered)
        await nc.subscribe("$JS.ACK.>", cb=self._answered)

    async def _delivered(self, msg: Msg) -> None:
        if msg.reply and msg.reply.startswith("$JS.ACK."):
            self.subject_of[msg.reply] = msg.subject
            self._add(msg.subject, "delivered", msg.reply)

    async def _answered(self, msg: Msg) -> None:
        subject = self.subject_of.get(msg.subject, "?")
        self._add(subject, msg.data.decode(errors="replace")[:8] or "+ACK", msg.subject)

    def mark(self, what: str) -> None:
        self.lines.append((_now(), "*", what))

    def _add(self, subject: str, what: str, reply: str) -> None:
        # $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>
        tokens = reply.split(".")
        if len(tokens) < 9 or not tokens[3].startswith(DURABLES):
            return  # the test's own reads
        where = f"{tokens[3]} seq {tokens[5]} delivery {tokens[4]}"
        self.lines.append((_now(), subject, f"{where}: {what}"))

    def of(self, incident_id: str) -> list[str]:
        return [
            f"{t} {s} {w}" for t, s, w in self.lines if s == "*" or s.endswith(f".{incident_id}")
        ]


# ------------------------------------------------------------------------------ the test


async def test_killing_a_replica_of_rules_and_of_the_writer_mid_burst_keeps_order_and_loses_nothing(
    stack: Stack, http: httpx.AsyncClient, sims: SimulatorState, bus: Client
) -> None:
    js = bus.jetstream()
    incidents = [
        (await trigger_incident(http, stack.pd_url, f"Replica kill {i}"))["id"]
        for i in range(INCIDENTS)
    ]

    async def all_issues() -> dict[str, str] | None:
        issues = await sims.jira_issues()
        found = {}
        for incident_id in incidents:
            label = f"pdjira-{ACCOUNT}-{incident_id}"
            keys = [i["key"] for i in issues if label in i["fields"].get("labels", [])]
            if not keys:
                return None
            found[incident_id] = keys[0]
        return found

    issue_of = await wait_until(all_issues, timeout=60, what="an issue for every incident")
    await wait_drained(js, timeout=QUIET_TIMEOUT, sims=sims)

    async def settled() -> bool:
        return shared_out(stack, await leases(bus.jetstream()))

    await wait_until(settled, timeout=30, what="every replica holding its share of partitions")

    trace = Trace()
    await trace.start(bus)

    # The burst: every incident's notes, in order per incident, all incidents at once.
    async def notes_for(i: int, incident_id: str) -> None:
        for k in range(NOTES):
            await add_note(http, stack, incident_id, f"note-{i}-{k}")

    burst = asyncio.gather(*(notes_for(i, inc) for i, inc in enumerate(incidents)))

    async def under_way() -> int | None:
        done = sum(map(len, (await comments_by_incident(sims, issue_of)).values()))
        return done if done >= KILL_AFTER else None

    await wait_until(under_way, timeout=60, what=f"{KILL_AFTER} comments", interval=0.05)
    killed = holders(await leases(bus.jetstream()))
    for name in killed:
        stack.kill_service(name)
    trace.mark(f"killed {killed}")
    killed_at = time.monotonic()
    at_kill = await comments_by_incident(sims, issue_of)
    held_at_kill = await leases(bus.jetstream())  # a dead replica's leases stay until they expire
    done_at_kill = sum(map(len, at_kill.values()))
    assert done_at_kill < TOTAL, "the burst was over before the kill: nothing was tested"
    taken = {name: of_replica(held_at_kill, name) for name in killed}
    for name in killed:
        assert taken[name], f"{name} held no partition when it was killed: {held_at_kill}"

    # The survivors take the dead replicas' partitions over (lease expiry, then an ack wait).
    async def taken_over() -> bool:
        now = await leases(bus.jetstream())
        return all(
            now.get(durable, "") not in ("", replica_id(name))
            and not now[durable].startswith("released:")
            for name, durables in taken.items()
            for durable in durables
        )

    await wait_until(taken_over, timeout=30, what="the killed replicas' partitions taken over")
    took_over_after = time.monotonic() - killed_at
    mid_takeover = sum(map(len, (await comments_by_incident(sims, issue_of)).values()))
    # And the killed ones come back: the survivors hand those partitions back to them.
    trace.mark("taken over; starting the killed replicas again")
    for name in killed:
        await stack[name].start().healthy()
    trace.mark("the killed replicas are up again")
    await burst
    await wait_drained(js, timeout=QUIET_TIMEOUT, sims=sims)

    # ---- judged on the final state
    issues = await sims.jira_issues()
    for incident_id in incidents:
        label = f"pdjira-{ACCOUNT}-{incident_id}"
        keys = [i["key"] for i in issues if label in i["fields"].get("labels", [])]
        assert keys == [issue_of[incident_id]], f"{incident_id}: issues {keys}"

    stored, partition = await stored_notes(bus, set(incidents))
    comments = await comments_by_incident(sims, issue_of)
    wrong = {}
    for i, incident_id in enumerate(incidents):
        added = {f"note-{i}-{k}" for k in range(NOTES)}
        assert set(stored[incident_id]) == added, f"{incident_id}: events {stored[incident_id]}"
        if comments[incident_id] != stored[incident_id]:
            wrong[incident_id] = {
                "partition": partition[incident_id],
                "events": stored[incident_id],
                "comments": comments[incident_id],
                "at_kill": at_kill[incident_id],
                "bus": trace.of(incident_id),
            }
        pd_notes = [n["content"] for n in await notes_of(http, stack, incident_id)]
        assert Counter(pd_notes) == Counter(added), f"{incident_id}: notes {pd_notes} (an echo?)"
    assert not wrong, f"order or loss: {json.dumps(wrong, indent=1)}; leases at kill {taken}"

    # The kill hit work in flight: incidents in the killed replicas' partitions still had
    # notes to mirror when it came.
    for name, durables in taken.items():
        service = name.partition("#")[0]
        hit = [
            incident_id
            for incident_id in incidents
            if f"{service}-p{partition[incident_id]}" in durables
            and len(at_kill[incident_id]) < NOTES
        ]
        assert hit, f"{name} ({durables}) held no unfinished incident when it was killed"
    print(
        f"\nkilled at {done_at_kill}/{TOTAL} comments; taken over after {took_over_after:.1f} s"
        f" ({mid_takeover}/{TOTAL} done then); leases at kill: {taken}"
    )
