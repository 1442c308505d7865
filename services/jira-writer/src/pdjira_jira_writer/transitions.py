"""Pure choice of the transition that moves an issue to a target status.

``choose_transition``: one direct hop. ``next_step``: multi-hop, breadth-first over the part of
the workflow seen so far, never through a Done-category status unless it is the target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pdjira_jira_writer.models import Transition

__all__ = [
    "Arrived",
    "NoPath",
    "NoTransition",
    "Step",
    "TransitionPlan",
    "choose_transition",
    "next_step",
    "same_status",
]

RESOLUTION = "resolution"


@dataclass(frozen=True, slots=True)
class TransitionPlan:
    transition_id: str
    transition_name: str
    to_status: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NoTransition:
    """No transition reaches the target; ``reason`` names where the issue is and can go."""

    reason: str
    reachable: tuple[str, ...]


def same_status(a: str, b: str) -> bool:
    """Jira status names compare case-insensitively ("Done" is "done")."""
    return a.strip().casefold() == b.strip().casefold()


def _fields_for(transition: Transition, resolution: str | None) -> dict[str, Any]:
    # Setting resolution on a transition without it on its screen is a 400 in Jira.
    if resolution and RESOLUTION in transition.fields:
        return {RESOLUTION: {"name": resolution}}
    return {}


def _rank(transition: Transition, resolution: str | None) -> tuple[int, int]:
    """Lower is better: no required field we cannot fill, then one that takes the resolution."""
    fillable = {RESOLUTION} if resolution else set()
    unfillable = any(f.required and k not in fillable for k, f in transition.fields.items())
    takes_resolution = bool(resolution) and RESOLUTION in transition.fields
    return (int(unfillable), int(not takes_resolution))


def choose_transition(
    *,
    issue_key: str,
    current: str,
    target: str,
    transitions: Sequence[Transition],
    resolution: str | None = None,
) -> TransitionPlan | NoTransition:
    """The transition from ``current`` to ``target`` among those Jira offers now."""
    candidates = [t for t in transitions if same_status(t.to.name, target)]
    if candidates:
        best = min(candidates, key=lambda t: _rank(t, resolution))  # stable: Jira's order
        return TransitionPlan(
            transition_id=best.id,
            transition_name=best.name,
            to_status=best.to.name,
            fields=_fields_for(best, resolution),
        )
    reachable = tuple(dict.fromkeys(t.to.name for t in transitions))
    if reachable:
        where = "reachable from it: " + ", ".join(f"'{s}'" for s in reachable)
        todo = (
            f"add a transition from '{current}' to '{target}' to the workflow, or map the "
            "PagerDuty status to one of the reachable statuses in the rule"
        )
    else:
        where = "Jira offers no transition from it to the configured user"
        todo = "check the workflow and the user's Transition Issues permission"
    return NoTransition(
        reason=(
            f"issue {issue_key} is in status '{current}' and no transition leads directly to "
            f"'{target}' ({where}); {todo}"
        ),
        reachable=reachable,
    )


# ---------------------------------------------------------------- multi-hop paths

DONE = "done"
DEFAULT_RESOLUTION = "Done"


@dataclass(frozen=True, slots=True)
class Arrived:
    """The issue is in the target status."""


@dataclass(frozen=True, slots=True)
class Step:
    """Take ``plan`` next; ``plans`` (``path``: their statuses) is the whole route known now:
    it ends at the target unless ``exploring`` (then at the nearest status whose transitions
    are not known yet: Jira only ever shows the transitions out of the issue's current status)."""

    plan: TransitionPlan
    path: tuple[str, ...]
    exploring: bool
    plans: tuple[TransitionPlan, ...] = ()


@dataclass(frozen=True, slots=True)
class NoPath:
    reason: str
    reachable: tuple[str, ...]


def _key(status: str) -> str:
    return status.strip().casefold()


def _fill(transition: Transition, resolution: str | None) -> dict[str, Any] | None:
    """The fields to send with ``transition``; None if a required one cannot be filled."""
    fields: dict[str, Any] = {}
    for field_id, meta in transition.fields.items():
        if field_id == RESOLUTION:
            if resolution or meta.required:
                fields[RESOLUTION] = {"name": resolution or DEFAULT_RESOLUTION}
        elif meta.required:
            return None
    return fields


def _usable(transition: Transition, target: str, resolution: str | None) -> bool:
    """Never through a Done-category status unless it is the target; fillable fields only."""
    if transition.to.category == DONE and not same_status(transition.to.name, target):
        return False
    return _fill(transition, resolution) is not None


def next_step(
    *,
    issue_key: str,
    current: str,
    target: str,
    seen: Mapping[str, Sequence[Transition]],
    resolution: str | None = None,
) -> Arrived | Step | NoPath:
    """The next transition towards ``target``, given the transitions seen so far.

    ``seen`` maps a status name to the transitions Jira offered from it (it must include
    ``current``). Breadth-first: the shortest known route to the target; else the shortest
    route to the nearest status not explored yet (where more transitions may appear); else
    no path, naming every status reachable.
    """
    if same_status(current, target):
        return Arrived()
    explored = {_key(s): list(ts) for s, ts in seen.items()}
    # BFS over statuses; parent[status] = (previous status, transition taken)
    parent: dict[str, tuple[str, Transition] | None] = {_key(current): None}
    names: dict[str, str] = {_key(current): current}
    queue = [_key(current)]
    frontier: list[str] = []  # reachable, not explored yet, in BFS order
    found: str | None = None
    while queue and found is None:
        node = queue.pop(0)
        if node not in explored:
            frontier.append(node)
            continue
        for t in explored[node]:
            if not _usable(t, target, resolution):
                continue
            nxt = _key(t.to.name)
            if nxt in parent:
                continue
            parent[nxt] = (node, t)
            names[nxt] = t.to.name
            if nxt == _key(target):
                found = nxt
                break
            queue.append(nxt)
    goal = found or (frontier[0] if frontier else None)
    if goal is None:
        reachable = tuple(names[k] for k in parent if k != _key(current))
        every = tuple(dict.fromkeys(t.to.name for ts in explored.values() for t in ts if t.to.name))
        others = [s for s in every if not same_status(s, current)]
        if others:
            where = "reachable: " + ", ".join(f"'{s}'" for s in others)
            todo = (
                "add such transitions to the workflow, or map the PagerDuty status to a "
                "reachable status in the rule"
            )
        else:
            where = "Jira offers no transition from it to the configured user"
            todo = "check the workflow and the user's Transition Issues permission"
        return NoPath(
            reason=(
                f"issue {issue_key} is in status '{current}' and no path of transitions leads "
                f"to '{target}' without passing through a Done status or a required field "
                f"we cannot fill ({where}); {todo}"
            ),
            reachable=reachable or tuple(others),
        )
    route: list[Transition] = []
    node = goal
    while (entry := parent[node]) is not None:
        node, t = entry[0], entry[1]
        route.append(t)
    route.reverse()
    plans = tuple(
        TransitionPlan(
            transition_id=t.id,
            transition_name=t.name,
            to_status=t.to.name,
            fields=_fill(t, resolution) or {},
        )
        for t in route
    )
    return Step(
        plan=plans[0],
        path=tuple(t.to.name for t in route),
        exploring=found is None,
        plans=plans,
    )
