"""What exists on a Jira instance (projects, issue types, priorities, statuses), to resolve the
name, key or id a rule gives: the matching and the failure that names what exists (the cache is
the kernel's ``Catalog``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal, get_args

from pdjira_writer.catalog import LIST_TTL, Catalog, Listing, by_id_or_name

from pdjira_jira_writer.jira_client import JiraApi

__all__ = ["CATALOG_TTL", "Catalogs", "Choice", "Kind", "find_choice", "unknown_reason"]

Kind = Literal["projects", "issue_types", "priorities", "statuses"]
CATALOG_TTL = LIST_TTL
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
    category: str = ""  # a status's category key: new, indeterminate, done


def find_choice(items: Sequence[Choice], wanted: str) -> Choice | None:
    """The item whose id is ``wanted``, else whose name (or project key) is, any case."""
    return by_id_or_name(items, wanted, lambda item: (item.name, item.key))


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


async def _fetch(kind: Kind, jira: JiraApi) -> tuple[Choice, ...]:
    if kind == "projects":
        return tuple(Choice(id=p.id, name=p.name, key=p.key) for p in await jira.projects())
    if kind == "issue_types":
        items = await jira.issue_types()
    elif kind == "priorities":
        items = await jira.priorities()
    else:
        items = await jira.statuses()
    return tuple(
        Choice(
            id=i.id,
            name=i.name,
            category=i.statusCategory.key if i.statusCategory is not None else "",
        )
        for i in items
    )


_LISTINGS: dict[Kind, Listing[JiraApi, Choice]] = {
    kind: Listing(kind, partial(_fetch, kind), find_choice, partial(unknown_reason, kind))
    for kind in get_args(Kind)
}


class Catalogs:
    """Each instance's catalogs; ``find`` raises a permanent refusal for an unknown item."""

    def __init__(self, *, ttl: float = CATALOG_TTL, clock: Callable[[], float] = time.monotonic):
        self._catalog: Catalog[JiraApi] = Catalog(lambda jira: jira.instance, ttl=ttl, clock=clock)

    async def find(self, jira: JiraApi, kind: Kind, wanted: str) -> Choice:
        return await self._catalog.find(jira, _LISTINGS[kind], wanted)
