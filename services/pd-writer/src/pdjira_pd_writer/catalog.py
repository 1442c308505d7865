"""The priorities and services of each PagerDuty account, to resolve the id or name ("P1",
"Checkout API") a rule gives: the matching and the failure that names what exists (the cache,
and the read again on a miss, are the kernel's ``Catalog``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from pdjira_writer.catalog import LIST_TTL, Catalog, Listing, by_id_or_name

from pdjira_pd_writer.decisions import find_priority, unknown_priority
from pdjira_pd_writer.models import Priority, Service
from pdjira_pd_writer.pd_client import PagerDutyApi

__all__ = ["PRIORITIES", "SERVICES", "find_service", "pd_catalog", "unknown_service"]


def find_service(items: Sequence[Service], wanted: str) -> Service | None:
    """The service whose id is ``wanted``, else whose name is (case-insensitive)."""
    return by_id_or_name(items, wanted, lambda s: (s.name, s.summary))


def unknown_service(wanted: str, items: Sequence[Service], account: str) -> str:
    listed = ", ".join(f"{s.name or s.summary} (id {s.id})" for s in items[:20]) or "none"
    return (
        f"PagerDuty account '{account}' has no service '{wanted}' (by id or name); it has "
        f"{listed}; fix target_service (or services) in the rule"
    )


async def _priorities(pd: PagerDutyApi) -> Sequence[Priority]:
    return await pd.priorities()


async def _services(pd: PagerDutyApi) -> Sequence[Service]:
    return await pd.services()


PRIORITIES = Listing("priorities", _priorities, find_priority, unknown_priority)
SERVICES = Listing("services", _services, find_service, unknown_service)


def pd_catalog(
    *, ttl: float = LIST_TTL, clock: Callable[[], float] = time.monotonic
) -> Catalog[PagerDutyApi]:
    """Each account's lists, cached (``ttl`` seconds)."""
    return Catalog(lambda pd: pd.account, ttl=ttl, clock=clock)
