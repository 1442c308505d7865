"""What a vendor lists (Jira's projects, issue types, priorities and statuses; PagerDuty's
priorities and services), to resolve the id or name a rule gives.

Lists are cached per target for a while, so a create does not list everything each time. A
miss in a cached list is read again before it counts (the item may be new), unless another
command just did; an item that is still unknown is a permanent failure naming what exists.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pdjira_writer.errors import Refused

__all__ = ["LIST_TTL", "Catalog", "Listing", "by_id_or_name"]

LIST_TTL = 300.0  # seconds a listed set is trusted before it is read again

C = TypeVar("C")
T = TypeVar("T")
Item = TypeVar("Item", bound="_Identified")


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


def by_id_or_name(
    items: Sequence[Item], wanted: str, names: Callable[[Item], Iterable[str | None]]
) -> Item | None:
    """The item whose id is ``wanted``, else the first with one of its ``names``, any case.

    Ids first: PagerDuty's rules carry ids ("10000"); names are what people write."""
    text = wanted.strip()
    by_id = next((item for item in items if item.id == text), None)
    if by_id is not None:
        return by_id
    folded = text.casefold()
    return next(
        (item for item in items if folded in {n.strip().casefold() for n in names(item) if n}),
        None,
    )


@dataclass(frozen=True, slots=True)
class Listing(Generic[C, T]):
    """One kind of list: how to read it with a target's client, find what a rule names in it,
    and say why nothing matched (``unknown(wanted, items, target)``)."""

    kind: str
    read: Callable[[C], Awaitable[Sequence[T]]]
    match: Callable[[Sequence[T], str], T | None]
    unknown: Callable[[str, Sequence[T], str], str]


class Catalog(Generic[C]):
    """The lists of every target, cached; ``target_of(client)`` names a client's target."""

    def __init__(
        self,
        target_of: Callable[[C], str],
        *,
        ttl: float = LIST_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._target_of = target_of
        self.ttl = ttl
        self._clock = clock
        self._lists: dict[tuple[str, str], tuple[float, Sequence[Any]]] = {}
        # One read at a time per list: commands arriving together share it.
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def find(self, client: C, listing: Listing[C, T], wanted: str) -> T:
        """The item ``wanted`` names; Refused (permanent), naming what exists, if none does."""
        key = (self._target_of(client), listing.kind)
        cached = self._lists.get(key)
        listed_at = cached[0] if cached else None
        items, read_now = await self._items(client, listing, key, newer_than=None)
        found = listing.match(items, wanted)
        if found is None and not read_now:
            # Created since we listed them? Read again, unless another command just did.
            items, _ = await self._items(client, listing, key, newer_than=listed_at)
            found = listing.match(items, wanted)
        if found is None:
            raise Refused(listing.unknown(wanted, items, key[0]))
        return found

    async def _items(
        self,
        client: C,
        listing: Listing[C, T],
        key: tuple[str, str],
        *,
        newer_than: float | None,
    ) -> tuple[Sequence[T], bool]:
        """The list: cached unless too old (or not newer than ``newer_than``); True when this
        call read it from the vendor."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._lists.get(key)
            if (
                cached is not None
                and self._clock() - cached[0] <= self.ttl
                and (newer_than is None or cached[0] > newer_than)
            ):
                return cached[1], False
            items = await listing.read(client)
            self._lists[key] = (self._clock(), items)
            return items, True
