"""Matching the references of a rule (services, projects, statuses...) against what an event
carries: by id, else by name (summary, label, key) case-insensitively, as validation resolves."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["folded", "listing", "matches", "shown"]


def folded(value: str | None) -> str | None:
    return value.casefold() if value else None


def matches(
    ref_id: str | None,
    ref_names: Iterable[str | None],
    the_id: str | None,
    the_names: Iterable[str | None],
) -> bool:
    """Whether a reference (id and names) denotes the thing (id and names)."""
    if ref_id and the_id and ref_id == the_id:
        return True
    mine = {n for n in (folded(x) for x in ref_names) if n}
    theirs = {n for n in (folded(x) for x in the_names) if n}
    return bool(mine & theirs)


def shown(ref_id: str | None, *names: str | None) -> str:
    """How to name a reference in a reason: its first name, else its id."""
    return next((n for n in names if n), ref_id or "?")


def listing(names: Iterable[str]) -> str:
    return "[" + ", ".join(names) + "]"
