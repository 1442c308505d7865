"""Partitioned lanes: every replica of a service consumes its share of the partitions, one
replica per partition at a time, so per-entity order holds across replicas.

Membership and leases live in KV ``pdjira_partitions`` (its TTL is the lease time):

- each replica puts ``m.<group>.<replica>`` every third of the TTL (a killed replica's key
  expires; a stopped one deletes it);
- the replicas listed there split the units (``partitions.assign``); a replica consumes a unit
  only while it holds ``l.<durable>`` (created, or taken over with compare-and-set, and renewed
  on the same beat). A replica that cannot renew for two thirds of the TTL stops the unit
  before anyone else can take it;
- a unit no longer ours (a replica joined) is handed back: its open pull request is waited out,
  its lanes stop, the messages held are nacked (due at once: the server hands redeliveries out
  before newer messages, in stream order), and the lease is marked ``released:<n nacked>``;
- the next holder compares the consumer's unacked count with that number: equal, it starts at
  once; more (its holder died holding messages, or one was in flight to it as it left), it
  starts one ack wait later, when every one of them is due again. Either way nothing of an
  entity can overtake an older message its last holder never finished.

Each replica first creates every unit's durable (so a unit no one holds yet still shows its
pending messages) and narrows the service's original durable to four-token subjects (messages
stored before partitioning; a work-queue stream refuses overlapping consumers).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from pdjira_common import streams, subjects
from pdjira_common.consumers import LANE_MAX_DELIVER, update_consumer
from pdjira_common.lanes import LaneDispatcher
from pdjira_common.logging import get_logger
from pdjira_common.partitions import Unit, assign, replica_id
from pdjira_common.secrets import redact

__all__ = ["PartitionedLanes"]

_log = get_logger(__name__)
_RELEASED = "released:"  # + the count of messages handed back
MAX_ACK_PENDING = 10_000  # far above what one replica's lanes hold (4 x concurrency)
ACKS_SETTLE = 2.0  # seconds a hand-back waits for the server to count its last acks


@dataclass
class _Holding:
    unit: Unit
    revision: int
    renewed_at: float
    dispatcher: LaneDispatcher | None = None
    starting: asyncio.Task[None] | None = field(default=None, repr=False)
    # Being handed back (its lanes finishing): the lease is still renewed until released.
    releasing: asyncio.Task[None] | None = field(default=None, repr=False)
    lost: bool = False  # another replica took the lease: do not mark it released


class PartitionedLanes:
    """Consume ``units`` (see ``partitions.units``) as this replica's share says."""

    def __init__(
        self,
        js: JetStreamContext,
        *,
        group: str,
        stream: str,
        units: list[Unit],
        dispatcher: Callable[[Unit], LaneDispatcher],
        ack_wait: float,
        me: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._js = js
        self._group = subjects.token(group)
        self._stream = stream
        self._units = units
        self._dispatcher = dispatcher
        self._ack_wait = ack_wait
        self.me = me or replica_id()
        self._clock = clock
        self._kv: KeyValue | None = None
        self._ttl = streams.PARTITION_LEASE_TTL
        self._held: dict[str, _Holding] = {}
        self._beat: asyncio.Task[None] | None = None
        self._members_seen_at = 0.0

    @property
    def held(self) -> list[str]:
        """The durables this replica consumes now (started or starting, not being handed back)."""
        return sorted(name for name, h in self._held.items() if h.releasing is None)

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        self._kv = await self._js.key_value(streams.KV_PARTITIONS)
        info = await self._js.stream_info(f"KV_{streams.KV_PARTITIONS}")
        self._ttl = float(info.config.max_age or streams.PARTITION_LEASE_TTL)
        await self._declare_consumers()
        await self._tick()
        self._beat = asyncio.create_task(self._beat_loop(), name=f"partitions:{self._group}")

    async def stop(self) -> None:
        """Hand every unit back (lanes stopped, held messages nacked, leases released) and
        leave the member list: the others take over on their next beat."""
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
        for holding in self._held.values():
            if holding.releasing is None:
                holding.releasing = asyncio.create_task(self._give_up(holding))
        await asyncio.gather(
            *(h.releasing for h in list(self._held.values()) if h.releasing is not None),
            return_exceptions=True,
        )
        # Purged from the bucket's stream, not deleted: a delete marker would still list us.
        with contextlib.suppress(Exception):
            await self._js.purge_stream(
                f"KV_{streams.KV_PARTITIONS}", subject=self._kv_subject(self._member_key(self.me))
            )

    # ------------------------------------------------------------------ consumers

    def consumer_config(self, unit: Unit) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=unit.durable,
            filter_subject=unit.filter,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self._ack_wait,
            max_ack_pending=MAX_ACK_PENDING,
            max_deliver=LANE_MAX_DELIVER,
        )

    async def _declare_consumers(self) -> None:
        # The legacy unit first: its old filter (``<prefix>.>``) overlaps every partition's.
        for unit in self._units:
            config = self.consumer_config(unit)
            try:
                await self._js.consumer_info(self._stream, unit.durable)
            except NotFoundError:
                with contextlib.suppress(Exception):  # a peer created it meanwhile
                    await self._js.add_consumer(self._stream, config)
            await update_consumer(
                self._js,
                self._stream,
                unit.durable,
                filter_subject=config.filter_subject,
                ack_wait=config.ack_wait,
                max_ack_pending=config.max_ack_pending,
                max_deliver=config.max_deliver,
            )

    # ------------------------------------------------------------------ the beat

    async def _beat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._ttl / 3)
            try:
                await self._tick()
            except Exception as exc:  # never let the beat die: it is what keeps the leases
                _log.warning("partition_beat_failed", reason=redact(f"{type(exc).__name__}: {exc}"))

    async def _tick(self) -> None:
        for holding in list(self._held.values()):
            task = holding.starting
            failed = task is not None and task.done() and (task.cancelled() or task.exception())
            if failed and holding.releasing is None:
                # Its start failed (NATS trouble): hand it back, take it again later.
                _log.warning("partition_start_failed", unit=holding.unit.durable)
                holding.releasing = asyncio.create_task(self._give_up(holding))
        members = await self._members()
        if members is None:
            await self._drop_expiring()
            return
        # Every lease first (those being handed back too: that can take a while), so none
        # runs out while we are busy with the others.
        for name in list(self._held):
            await self._renew(name)
        wanted = {unit.durable: unit for unit in assign(members, self._units, self.me)}
        for name, holding in list(self._held.items()):
            if name not in wanted and holding.releasing is None:
                holding.releasing = asyncio.create_task(
                    self._give_up(holding), name=f"release:{name}"
                )
        for name, unit in wanted.items():
            if name not in self._held:
                await self._try_take(unit)

    async def _members(self) -> list[str] | None:
        """Announce this replica and read the live ones; None when KV could not answer."""
        assert self._kv is not None
        try:
            await self._kv.put(self._member_key(self.me), b"")
            # The bucket's subjects (one request; a key watch would not see a key expire).
            info = await self._js.stream_info(
                f"KV_{streams.KV_PARTITIONS}",
                subjects_filter=self._kv_subject(self._member_key("*")),
            )
        except Exception as exc:
            _log.warning("partition_members_unknown", reason=redact(f"{type(exc).__name__}: {exc}"))
            return None
        prefix = self._kv_subject(self._member_key(""))
        return [s[len(prefix) :] for s in (info.state.subjects or {}) if s.startswith(prefix)]

    @staticmethod
    def _kv_subject(key: str) -> str:
        return f"$KV.{streams.KV_PARTITIONS}.{key}"

    def _member_key(self, replica: str) -> str:
        return f"m.{self._group}.{replica}"

    @staticmethod
    def _lease_key(unit: Unit) -> str:
        return f"l.{subjects.token(unit.durable)}"

    # ------------------------------------------------------------------ one unit

    async def _try_take(self, unit: Unit) -> None:
        assert self._kv is not None
        key = self._lease_key(unit)
        handed_back: int | None = None  # None: its last holder (if any) died holding it
        try:
            try:
                entry = await self._kv.get(key)
            except KeyNotFoundError:  # never held, or expired
                revision = await self._kv.create(key, self.me.encode())
            else:
                handed_back = _handed_back(entry.value)
                if handed_back is None and entry.value != self.me.encode():
                    return  # another replica holds it (until it hands it back or expires)
                # Released, or held by an earlier run of this replica (restarted after a crash,
                # same id): ours now.
                revision = await self._kv.update(key, self.me.encode(), last=entry.revision)
        except KeyWrongLastSequenceError:
            return  # a peer took it first
        except Exception as exc:
            _log.warning("partition_not_taken", unit=unit.durable, error=type(exc).__name__)
            return
        holding = _Holding(unit=unit, revision=revision, renewed_at=self._clock())
        self._held[unit.durable] = holding
        holding.starting = asyncio.create_task(
            self._start_unit(holding, handed_back), name=f"take:{unit.durable}"
        )

    async def _start_unit(self, holding: _Holding, handed_back: int | None) -> None:
        unit = holding.unit
        info = await self._js.consumer_info(self._stream, unit.durable)
        # Messages delivered and not acked: the ones the last holder handed back (due now,
        # redelivered before anything newer) and any it still had, or that were in flight to
        # it when it left. Those come back only after their ack wait: wait for them, or one
        # of them would run after a newer message of its entity.
        delay = self._ack_wait if (info.num_ack_pending or 0) > (handed_back or 0) else 0.0
        _log.info("partition_taken", unit=unit.durable, replica=self.me, wait=delay)
        if delay:
            await asyncio.sleep(delay)
        dispatcher = self._dispatcher(unit)
        holding.dispatcher = dispatcher
        await dispatcher.start(recover=info.num_ack_pending or 0)

    async def _renew(self, name: str) -> None:
        assert self._kv is not None
        holding = self._held.get(name)
        if holding is None:
            return
        try:
            holding.revision = await self._kv.update(
                self._lease_key(holding.unit), self.me.encode(), last=holding.revision
            )
        except KeyWrongLastSequenceError:
            _log.warning("partition_lost", unit=name, replica=self.me)
            await self._stop_unit(holding)
            return
        except Exception as exc:
            _log.warning("partition_not_renewed", unit=name, error=type(exc).__name__)
            if self._clock() - holding.renewed_at > self._ttl * 2 / 3:
                await self._stop_unit(holding)
            return
        holding.renewed_at = self._clock()

    async def _drop_expiring(self) -> None:
        """KV is unreachable: stop each unit before its lease can expire under us."""
        for name, holding in list(self._held.items()):
            if self._clock() - holding.renewed_at > self._ttl * 2 / 3:
                _log.warning("partition_lease_expiring", unit=name, replica=self.me)
                await self._stop_unit(holding)

    async def _stop_unit(self, holding: _Holding) -> None:
        """Stop at once: the lease is lost or about to be (not handed back: no release)."""
        holding.lost = True
        if self._held.get(holding.unit.durable) is holding:
            del self._held[holding.unit.durable]
        if holding.releasing is not None:
            holding.releasing.cancel()
        await self._halt(holding, settle=False)

    async def _halt(self, holding: _Holding, *, settle: bool) -> None:
        if holding.starting is not None and not holding.starting.done():
            holding.starting.cancel()
        if holding.starting is not None:
            await asyncio.gather(holding.starting, return_exceptions=True)
        if holding.dispatcher is not None:
            await holding.dispatcher.stop(settle=settle)

    async def _give_up(self, holding: _Holding) -> None:
        """Stop the unit and hand it back: the lease says how many messages we nacked, so the
        next holder can tell whether anything else is still out (see :meth:`_start_unit`).
        Runs beside the beat, which keeps renewing the lease meanwhile."""
        name = holding.unit.durable
        try:
            await self._halt(holding, settle=True)
        finally:
            if self._held.get(name) is holding:
                del self._held[name]
        if holding.lost or self._kv is None:
            return
        handed_back = holding.dispatcher.handed_back if holding.dispatcher is not None else 0
        await self._acks_settled(holding.unit, handed_back)
        try:
            await self._kv.update(
                self._lease_key(holding.unit), _released(handed_back), last=holding.revision
            )
        except Exception as exc:  # it expires instead: the next holder waits an ack wait
            _log.warning("partition_not_released", unit=name, error=type(exc).__name__)
            return
        _log.info("partition_released", unit=name, replica=self.me, handed_back=handed_back)

    async def _acks_settled(self, unit: Unit, handed_back: int) -> None:
        """Until the server has processed our last acks (it does so after answering them), so
        the next holder does not count an acked message as one still out and wait for it."""
        deadline = self._clock() + ACKS_SETTLE
        while self._clock() < deadline:
            try:
                info = await self._js.consumer_info(self._stream, unit.durable)
            except Exception:
                return
            if (info.num_ack_pending or 0) <= handed_back:
                return
            await asyncio.sleep(0.05)


def _released(handed_back: int) -> bytes:
    return f"{_RELEASED}{handed_back}".encode()


def _handed_back(value: bytes | None) -> int | None:
    """From a lease value: the messages its last holder handed back, or None if held."""
    text = (value or b"").decode(errors="replace")
    if not text.startswith(_RELEASED):
        return None
    count = text[len(_RELEASED) :]
    return int(count) if count.isdigit() else None
