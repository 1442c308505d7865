"""The priorities and services of each PagerDuty account, to resolve the id or name ("P1",
"Checkout API") a rule gives: cached per account for a while, read again on a miss (it may be
new) before it fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pdjira_pd_writer.decisions import find_priority, unknown_priority
from pdjira_pd_writer.errors import PagerDutyError
from pdjira_pd_writer.models import Priority, Service
from pdjira_pd_writer.pd_client import PagerDutyApi

__all__ = ["PRIORITIES_TTL", "Priorities", "Services", "find_service", "unknown_service"]

PRIORITIES_TTL = 300.0  # seconds a listed set of priorities is trusted


@dataclass(slots=True)
class Priorities:
    ttl: float = PRIORITIES_TTL
    clock: Callable[[], float] = time.monotonic
    _lists: dict[str, tuple[float, tuple[Priority, ...]]] = field(default_factory=dict)
    # One read at a time per account: commands arriving together share it.
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def find(self, pd: PagerDutyApi, wanted: str) -> Priority:
        """The priority ``wanted`` names; PagerDutyError (permanent) when there is none."""
        cached = self._lists.get(pd.account)
        listed_at = cached[0] if cached else None
        items, read_now = await self._items(pd, newer_than=None)
        found = find_priority(items, wanted)
        if found is None and not read_now:
            items, _ = await self._items(pd, newer_than=listed_at)
            found = find_priority(items, wanted)
        if found is None:
            raise PagerDutyError(unknown_priority(wanted, items, pd.account), status_code=None)
        return found

    async def _items(
        self, pd: PagerDutyApi, *, newer_than: float | None
    ) -> tuple[tuple[Priority, ...], bool]:
        lock = self._locks.setdefault(pd.account, asyncio.Lock())
        async with lock:
            cached = self._lists.get(pd.account)
            if (
                cached is not None
                and self.clock() - cached[0] <= self.ttl
                and (newer_than is None or cached[0] > newer_than)
            ):
                return cached[1], False
            items = await pd.priorities()
            self._lists[pd.account] = (self.clock(), items)
            return items, True


def find_service(items: Sequence[Service], wanted: str) -> Service | None:
    """The service whose id is ``wanted``, else whose name is (case-insensitive)."""
    text = wanted.strip()
    by_id = next((s for s in items if s.id == text), None)
    if by_id is not None:
        return by_id
    folded = text.casefold()
    return next(
        (s for s in items if folded in {s.name.casefold(), (s.summary or "").casefold()}), None
    )


def unknown_service(wanted: str, items: Sequence[Service], account: str) -> str:
    listed = ", ".join(f"{s.name or s.summary} (id {s.id})" for s in items[:20]) or "none"
    return (
        f"PagerDuty account '{account}' has no service '{wanted}' (by id or name); it has "
        f"{listed}; fix target_service (or services) in the rule"
    )


@dataclass(slots=True)
class Services:
    """Services by id or name, cached like :class:`Priorities` (rules may name a service)."""

    ttl: float = PRIORITIES_TTL
    clock: Callable[[], float] = time.monotonic
    _lists: dict[str, tuple[float, tuple[Service, ...]]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def find(self, pd: PagerDutyApi, wanted: str) -> Service:
        """The service ``wanted`` names; PagerDutyError (permanent) when there is none."""
        for refresh in (False, True):
            items = await self._items(pd, refresh=refresh)
            found = find_service(items, wanted)
            if found is not None:
                return found
        raise PagerDutyError(unknown_service(wanted, items, pd.account), status_code=None)

    async def _items(self, pd: PagerDutyApi, *, refresh: bool) -> tuple[Service, ...]:
        lock = self._locks.setdefault(pd.account, asyncio.Lock())
        async with lock:
            cached = self._lists.get(pd.account)
            if not refresh and cached is not None and self.clock() - cached[0] <= self.ttl:
                return cached[1]
            items = await pd.services()
            self._lists[pd.account] = (self.clock(), items)
            return items
