"""What exists on a Jira instance (projects, issue types, priorities, statuses), to resolve the
name, key or id a rule gives: pure matching here, plus a small per-instance cache so a create does
not list everything each time. A miss in a cached list is read again from Jira before it fails
(the item may be new); an unknown one is a permanent failure that names what exists."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pdjira_jira_writer.errors import JiraError
from pdjira_jira_writer.jira_client import JiraApi

__all__ = ["CATALOG_TTL", "Catalogs", "Choice", "Kind", "find_choice", "unknown_reason"]

Kind = Literal["projects", "issue_types", "priorities", "statuses"]
CATALOG_TTL = 300.0  # seconds a listed catalog is trusted before it is read again
_MAX_LISTED = 40  # a failure names at most this many items

_WHAT: dict[Kind, str] = {
    "projects": "project",
    "issue_types": "issue type",
    "priorities": "priority",
    "statuses": "status",
}


@dataclass(frozen=True, slots=True)
class Choice:
    """One item of a catalog: ``key`` is the project key (None for the others)."""

    id: str
    name: str
    key: str | None = None


def find_choice(items: Sequence[Choice], wanted: str) -> Choice | None:
    """The item whose id is ``wanted``, else whose name (or project key) is, case-insensitively.

    Ids first: PagerDuty's rules carry ids ("10000"); names and keys are what people write."""
    text = wanted.strip()
    by_id = next((i for i in items if i.id == text), None)
    if by_id is not None:
        return by_id
    folded = text.casefold()
    return next(
        (
            i
            for i in items
            if i.name.strip().casefold() == folded or (i.key or "").casefold() == folded
        ),
        None,
    )


def _label(item: Choice) -> str:
    if item.key:
        return f"{item.key} '{item.name}' (id {item.id})"
    return f"'{item.name}' (id {item.id})"


def unknown_reason(kind: Kind, wanted: str, items: Sequence[Choice], instance: str) -> str:
    """Why ``wanted`` cannot be used, naming what exists and what to do."""
    what = _WHAT[kind]
    if not items:
        exists = f"it lists no {kind.replace('_', ' ')} to its Jira user"
    else:
        listed = ", ".join(_label(i) for i in items[:_MAX_LISTED])
        more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
        exists = f"it has {listed}{more}"
    return (
        f"Jira instance '{instance}' has no {what} '{wanted}' (by id or name"
        f"{' or key' if kind == 'projects' else ''}); {exists}; "
        f"fix the {what} in the rule, or create it in Jira"
    )


async def _fetch(jira: JiraApi, kind: Kind) -> tuple[Choice, ...]:
    if kind == "projects":
        return tuple(Choice(id=p.id, name=p.name, key=p.key) for p in await jira.projects())
    if kind == "issue_types":
        items = await jira.issue_types()
    elif kind == "priorities":
        items = await jira.priorities()
    else:
        items = await jira.statuses()
    return tuple(Choice(id=i.id, name=i.name) for i in items)


@dataclass(slots=True)
class Catalogs:
    """Per-instance cache of the lists; ``find`` raises JiraError for an unknown item."""

    ttl: float = CATALOG_TTL
    clock: Callable[[], float] = time.monotonic
    _lists: dict[tuple[str, Kind], tuple[float, tuple[Choice, ...]]] = field(default_factory=dict)
    # One read at a time per list: commands arriving together share it.
    _locks: dict[tuple[str, Kind], asyncio.Lock] = field(default_factory=dict)

    async def find(self, jira: JiraApi, kind: Kind, wanted: str) -> Choice:
        listed_at = self._listed_at(jira, kind)
        items, read_now = await self._items(jira, kind, newer_than=None)
        found = find_choice(items, wanted)
        if found is None and not read_now:
            # Created since we listed them? Read again, unless another command just did.
            items, _ = await self._items(jira, kind, newer_than=listed_at)
            found = find_choice(items, wanted)
        if found is None:
            raise JiraError(unknown_reason(kind, wanted, items, jira.instance), status_code=None)
        return found

    def _listed_at(self, jira: JiraApi, kind: Kind) -> float | None:
        cached = self._lists.get((jira.instance, kind))
        return cached[0] if cached else None

    async def _items(
        self, jira: JiraApi, kind: Kind, *, newer_than: float | None
    ) -> tuple[tuple[Choice, ...], bool]:
        """The list: cached unless too old (or not newer than ``newer_than``); True when this
        call read it from Jira."""
        key = (jira.instance, kind)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = self._lists.get(key)
            if (
                cached is not None
                and self.clock() - cached[0] <= self.ttl
                and (newer_than is None or cached[0] > newer_than)
            ):
                return cached[1], False
            items = await _fetch(jira, kind)
            self._lists[key] = (self.clock(), items)
            return items, True
