"""Pure choice of the transition that moves an issue to a target status.

Only direct transitions for now; multi-hop path finding (through non-terminal statuses) will
grow here, which is why the choice takes plain data and returns plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pdjira_jira_writer.models import Transition

__all__ = ["NoTransition", "TransitionPlan", "choose_transition", "same_status"]

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
