"""The reconciliation loop (thin; the decisions are in changes / pagerduty / jira).

Per PagerDuty account and Jira instance, while this replica holds the target's lease: every
``reconcile.interval`` seconds ask the writer what changed in the poll window, publish each
change under its stable id (JetStream drops the copy of a delivered webhook), repair what a
delivered webhook could not do (no link yet, a note or comment never paired), then move the
watermark, only once every event of the window is stored. A failure (writer silent, vendor
5xx, NATS) is logged and counted, and the same window is polled again next time.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import msgspec
from faststream.nats import NatsBroker
from nats.errors import NoRespondersError
from pdjira_common import streams, subjects
from pdjira_common.bus import jetstream, nats_client, publish
from pdjira_common.config import Config
from pdjira_common.contracts import IncidentEvent, IncidentRef, IssueEvent, Link, encode
from pdjira_common.logging import get_logger
from pdjira_common.mapping_client import (
    MappingUnavailable,
    link_of_incident,
    link_of_issue,
    lookup_pair,
)
from pdjira_common.requests import (
    JiraChangesRead,
    JiraChangesReply,
    PairLookup,
    PdChangesRead,
    PdChangesReply,
    jira_read_subject,
    pd_read_subject,
)

from pdjira_ingest.intake import destination
from pdjira_ingest.metrics import IngestMetrics
from pdjira_ingest.reconcile.changes import Change, Window, poll_window, repaired, ripe
from pdjira_ingest.reconcile.jira import issue_changes, issue_create, projects_to_poll
from pdjira_ingest.reconcile.lease import Lease
from pdjira_ingest.reconcile.pagerduty import incident_changes, incident_create
from pdjira_ingest.reconcile.stored import webhook_statuses
from pdjira_ingest.reconcile.watermark import Watermarks

__all__ = ["PollFailed", "Reconciler", "Target"]

T = TypeVar("T")
_log = get_logger(__name__)
# A writer answers a page with many vendor calls, each waiting for the target's rate budget.
READ_TIMEOUT = 30.0
PD_PAGE = 10  # incidents per page (each costs the writer one or two calls)
JIRA_PAGE = 25
MAX_PAGES = 1000  # a bound on one poll, whatever a writer answers


@dataclass(frozen=True, slots=True)
class Target:
    source: Literal["pagerduty", "jira"]
    id: str

    @property
    def key(self) -> str:
        """Its key in the lease and watermark buckets."""
        return f"{'pd' if self.source == 'pagerduty' else 'jira'}.{subjects.token(self.id)}"


class PollFailed(Exception):
    """A poll that cannot finish; ``reason`` is a stable code (a metrics label)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class _Tally:
    published: int = 0
    duplicate: int = 0
    repaired: int = 0
    errors: list[str] = field(default_factory=list)


class Reconciler:
    """Start it once NATS is connected; ``stop`` releases the leases."""

    def __init__(
        self,
        config: Config,
        broker: NatsBroker,
        metrics: IngestMetrics,
        *,
        holder: str | None = None,
        renew_every: float = streams.LEASE_TTL / 3,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        read_timeout: float = READ_TIMEOUT,
        publish_timeout: float = 5.0,
    ) -> None:
        self.config = config
        self.settings = config.reconcile
        self.broker = broker
        self.metrics = metrics
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.renew_every = renew_every
        self.clock = clock
        self.read_timeout = read_timeout
        self.publish_timeout = publish_timeout
        self.targets = [Target("pagerduty", a.id) for a in config.pagerduty_accounts] + [
            Target("jira", j.id) for j in config.jira_instances
        ]
        self.leases: dict[Target, Lease] = {}
        self._watermarks: Watermarks | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        js = jetstream(self.broker)
        leases = await js.key_value(streams.KV_LEASES)
        self._watermarks = Watermarks(await js.key_value(streams.KV_RECONCILE))
        for target in self.targets:
            lease = self.leases[target] = Lease(leases, target.key, self.holder)
            self._tasks.append(asyncio.create_task(self._keep(lease)))
            self._tasks.append(asyncio.create_task(self._poll_while_held(target, lease)))
        _log.info("reconcile_started", targets=[t.key for t in self.targets], holder=self.holder)

    async def stop(self) -> None:
        self._stopping.set()
        # Cancel until done: on 3.11 a cancel landing in nats-py's wait_for can be swallowed.
        for _ in range(100):
            pending = [t for t in self._tasks if not t.done()]
            if not pending:
                break
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=0.05)
        self._tasks.clear()
        if nats_client(self.broker).is_connected:  # else the leases' TTL frees them
            await asyncio.gather(*(lease.release() for lease in self.leases.values()))

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when stopping."""
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait([stopping], timeout=seconds)
        finally:
            stopping.cancel()

    async def _keep(self, lease: Lease) -> None:
        while not self._stopping.is_set():
            await lease.keep()
            await self._pause(self.renew_every)

    async def _poll_while_held(self, target: Target, lease: Lease) -> None:
        while not self._stopping.is_set():
            if lease.held:
                await self.poll(target)
                await self._pause(self.settings.interval)
            else:
                await self._pause(min(self.renew_every, self.settings.interval))

    # ------------------------------------------------------------------ one poll

    async def poll(self, target: Target) -> bool:
        """One poll of ``target``; True when its watermark moved. Never raises."""
        assert self._watermarks is not None, "start() first"
        now = self.clock()
        tally = _Tally()
        try:
            mark = await self._watermarks.read(target.key)
            window = poll_window(mark.at, now, self.settings)
            if target.source == "pagerduty":
                await self._poll_pagerduty(target, window, now, tally)
            else:
                await self._poll_jira(target, window, now, tally)
            if target in self.leases and not self.leases[target].held:
                raise PollFailed("lease_lost", "the lease was lost during the poll")
            await self._watermarks.advance(target.key, mark, window.until)
        except PollFailed as exc:
            return self._failed(target, exc.reason, str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # NATS, a CAS conflict on the watermark: next poll again
            return self._failed(target, "unexpected", f"{type(exc).__name__}: {exc}")
        self.metrics.reconcile_polls.labels(source=target.source, outcome="ok").inc()
        _log.info(
            "reconcile_polled",
            target=target.key,
            since=window.since.isoformat(),
            until=window.until.isoformat(),
            published=tally.published,
            duplicate=tally.duplicate,
            repaired=tally.repaired,
        )
        return True

    def _failed(self, target: Target, reason: str, message: str) -> bool:
        self.metrics.reconcile_polls.labels(source=target.source, outcome="failed").inc()
        self._error(target, reason)
        _log.warning("reconcile_poll_failed", target=target.key, reason=reason, error=message)
        return False

    def _error(self, target: Target, reason: str) -> None:
        self.metrics.reconcile_errors.labels(source=target.source, reason=reason).inc()

    async def _poll_pagerduty(
        self, target: Target, window: Window, now: datetime, tally: _Tally
    ) -> None:
        offset: int | None = 0
        for _ in range(MAX_PAGES):
            if offset is None:
                return
            read = PdChangesRead(
                account=target.id,
                since=_iso(window.since),
                until=_iso(window.until),
                offset=offset,
                max_incidents=PD_PAGE,
            )
            reply = await self._ask(pd_read_subject(target.id, "changes"), read, PdChangesReply)
            for incident in reply.incidents:
                changes = incident_changes(target.id, incident, window)
                ref = IncidentRef(account=target.id, incident_id=incident.incident_id)

                async def link(ref: IncidentRef = ref) -> Link | None:
                    return await link_of_incident(self.broker, ref)

                delivered: frozenset[str] = frozenset()
                if any(c.webhook_key for c in changes):
                    subject = subjects.event_pd(target.id, incident.incident_id)
                    came = await webhook_statuses(jetstream(self.broker), subject, window.since)
                    delivered = self._delivered(target, changes, came, tally)

                create = incident_create(target.id, incident)
                await self._entity(target, changes, create, link, now, tally, delivered)
            offset = reply.next_offset

    async def _poll_jira(
        self, target: Target, window: Window, now: datetime, tally: _Tally
    ) -> None:
        projects = projects_to_poll(self.config, target.id)
        start: int | None = 0
        for _ in range(MAX_PAGES):
            if start is None:
                return
            read = JiraChangesRead(
                instance=target.id,
                since=_iso(window.since),
                projects=projects,
                start_at=start,
                max_results=JIRA_PAGE,
            )
            reply = await self._ask(jira_read_subject(target.id, "changes"), read, JiraChangesReply)
            for issue in reply.issues:
                changes = issue_changes(target.id, issue, window, reply.myself)

                async def link(issue_id: str = issue.id) -> Link | None:
                    return await link_of_issue(self.broker, target.id, issue_id)

                create = issue_create(target.id, issue, reply.myself)
                await self._entity(target, changes, create, link, now, tally)
            start = reply.next_start_at

    def _delivered(
        self, target: Target, changes: list[Change], came: Counter[str], tally: _Tally
    ) -> frozenset[str]:
        """The ids of the status changes a stored webhook reported (same type, same second):
        not published again; they count as duplicates, as a webhook's copy does."""
        delivered: set[str] = set()
        for change in changes:
            if change.webhook_key is not None and came[change.webhook_key] > 0:
                came[change.webhook_key] -= 1
                delivered.add(change.event.event_id)
                tally.duplicate += 1
                labels = {"source": target.source, "outcome": "duplicate"}
                self.metrics.reconcile_events.labels(**labels).inc()
        return frozenset(delivered)

    async def _entity(
        self,
        target: Target,
        changes: list[Change],
        create: Change | None,
        link_of: Callable[[], Awaitable[Link | None]],
        now: datetime,
        tally: _Tally,
        delivered: frozenset[str] = frozenset(),
    ) -> None:
        """Publish one incident's / issue's changes in order (but those ``delivered`` by a
        webhook), then repair what is left."""
        fresh = False
        created_fresh = False
        for change in changes:
            new = change.event.event_id not in delivered
            if new and not await self._publish(target, change.event, tally):
                fresh = True
                created_fresh |= change.kind == "create"
            elif created_fresh:
                # Its create's webhook was lost, so this one (delivered) was decided without a
                # link and skipped: again, after the create, it waits in the lane for the link.
                await self._republish(target, change.event, tally)
        # A change published just now is being decided: repair only what had its chance.
        if fresh or not changes or not ripe(changes[-1], now, self.settings):
            return
        try:
            await self._repair(target, changes, create, await link_of(), now, tally)
        except MappingUnavailable as exc:
            self._error(target, "mapping_unavailable")
            _log.warning("reconcile_repair_skipped", target=target.key, reason=str(exc))

    async def _repair(
        self,
        target: Target,
        changes: list[Change],
        create: Change | None,
        link: Link | None,
        now: datetime,
        tally: _Tally,
    ) -> None:
        if link is None:
            # Delivered, yet never linked (e.g. its create webhook came first and was skipped):
            # the rules decide the create again, then what happened to it since (a note, a
            # status change skipped as "not linked" back then): in the entity's lane they
            # come after the create, so they wait for its link and are applied once.
            if create is not None:
                await self._republish(target, create.event, tally)
                for change in changes:
                    if change.event.event_id != create.event.event_id:
                        await self._republish(target, change.event, tally)
            return
        talks = [
            c for c in changes if c.kind in ("note", "comment") and ripe(c, now, self.settings)
        ]
        for change in talks:
            if await self._unpaired(link, change.event):
                await self._republish(target, change.event, tally)

    async def _unpaired(self, link: Link, event: IncidentEvent | IssueEvent) -> bool:
        """A note (comment) of a linked pair that has no comment (note): its webhook came
        before the link and was skipped, or its sync failed."""
        if isinstance(event, IncidentEvent) and event.note is not None:
            lookup = PairLookup(incident=link.incident, note_id=event.note.id)
            return (await lookup_pair(self.broker, lookup)).comment_id is None
        if isinstance(event, IssueEvent) and event.comment is not None:
            lookup = PairLookup(incident=link.incident, comment_id=event.comment.id)
            return (await lookup_pair(self.broker, lookup)).note_id is None
        return False

    async def _republish(
        self, target: Target, event: IncidentEvent | IssueEvent, tally: _Tally
    ) -> None:
        again = repaired(event)
        if await self._publish(target, again, tally, counted=False):
            return  # repaired once already (within the duplicate window)
        tally.repaired += 1
        self.metrics.reconcile_events.labels(source=target.source, outcome="repaired").inc()
        _log.info("reconcile_repaired", target=target.key, event_id=again.event_id)

    async def _publish(
        self,
        target: Target,
        event: IncidentEvent | IssueEvent,
        tally: _Tally,
        *,
        counted: bool = True,
    ) -> bool:
        """Store ``event`` under its id; True when JetStream already had it."""
        where = destination(event)
        try:
            ack = await publish(
                self.broker,
                event,
                where.subject,
                stream=streams.EVENTS,
                msg_id=where.msg_id,
                correlation_id=event.correlation_id,
                timeout=self.publish_timeout,
            )
        except Exception as exc:
            raise PollFailed("nats", f"could not store {where.msg_id}: {exc!r}") from exc
        duplicate = bool(ack.duplicate)
        if counted:
            outcome = "duplicate" if duplicate else "published"
            self.metrics.reconcile_events.labels(source=target.source, outcome=outcome).inc()
            if duplicate:
                tally.duplicate += 1
            else:
                tally.published += 1
                _log.info("reconcile_published", target=target.key, event_id=event.event_id)
        return duplicate

    async def _ask(self, subject: str, message: msgspec.Struct, reply: type[T]) -> T:
        try:
            response = await nats_client(self.broker).request(
                subject, encode(message), timeout=self.read_timeout
            )
        except (NoRespondersError, TimeoutError):
            raise PollFailed(
                "writer_unavailable", f"no writer answered {subject} in {self.read_timeout:g} s"
            ) from None
        try:
            result: T = msgspec.json.decode(response.data, type=reply)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise PollFailed("writer_error", f"bad reply on {subject}: {exc}") from None
        error: Any = getattr(result, "error", None)
        if error:
            raise PollFailed("writer_error", f"the writer could not answer {subject}: {error}")
        return result


def _iso(value: datetime) -> str:
    """UTC, to the second, ``Z``: what both vendors take in queries."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
