"""What a vendor lists, cached per target: a hit from the cache, a miss read again once (the
item may be new), an unknown item a refusal naming what exists, an old list read again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from pdjira_writer.catalog import Catalog, Listing, by_id_or_name
from pdjira_writer.errors import Refused


@dataclass(frozen=True)
class Thing:
    id: str
    name: str
    alias: str | None = None


THINGS = (Thing("1", "Checkout API", "checkout"), Thing("2", "Search"), Thing("10", "1"))


@pytest.mark.parametrize(
    ("wanted", "found"),
    [
        ("1", "1"),  # an id wins over a name that looks like one
        (" 2 ", "2"),
        ("checkout api", "1"),
        ("CHECKOUT", "1"),  # any of its names
        ("Payments", None),
    ],
)
def test_by_id_then_by_any_name_in_any_case(wanted: str, found: str | None) -> None:
    hit = by_id_or_name(THINGS, wanted, lambda t: (t.name, t.alias))
    assert (hit.id if hit else None) == found


class Vendor:
    target = "t1"

    def __init__(self) -> None:
        self.reads = 0
        self.things: tuple[Thing, ...] = THINGS[:2]

    async def list_things(self) -> tuple[Thing, ...]:
        self.reads += 1
        return self.things


def unknown(wanted: str, items: Sequence[Thing], target: str) -> str:
    return f"{target} has no thing '{wanted}'; it has {', '.join(t.name for t in items)}"


THINGS_LISTING: Listing[Vendor, Thing] = Listing(
    "things",
    lambda vendor: vendor.list_things(),
    lambda items, wanted: by_id_or_name(items, wanted, lambda t: (t.name,)),
    unknown,
)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_lists_are_cached_read_again_on_a_miss_and_when_old() -> None:
    vendor, clock = Vendor(), Clock()
    catalog: Catalog[Vendor] = Catalog(lambda v: v.target, ttl=60, clock=clock)
    assert (await catalog.find(vendor, THINGS_LISTING, "Search")).id == "2"
    assert (await catalog.find(vendor, THINGS_LISTING, "1")).name == "Checkout API"
    assert vendor.reads == 1
    vendor.things = THINGS  # one added since
    assert (await catalog.find(vendor, THINGS_LISTING, "10")).id == "10"
    assert vendor.reads == 2
    with pytest.raises(Refused) as caught:
        await catalog.find(vendor, THINGS_LISTING, "Nope")
    assert caught.value.reason == "t1 has no thing 'Nope'; it has Checkout API, Search, 1"
    assert caught.value.status_code is None
    assert vendor.reads == 3  # a miss is read again once, not twice
    clock.now = 61  # too old: read again even for a hit
    await catalog.find(vendor, THINGS_LISTING, "Search")
    assert vendor.reads == 4
