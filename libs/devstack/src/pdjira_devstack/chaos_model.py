"""What the chaos run's rules say each incident/issue pair should end as, from the people's
actions alone (pure; no I/O).

The rules of the run (see ``chaos_rules``) tie three levels together:

    PagerDuty triggered    <->  Jira To Do        ("open")
    PagerDuty acknowledged <->  Jira In Progress  ("working")
    PagerDuty resolved     <->  Jira Done         ("done")

and the model replays the people's status actions of a pair in time order, each one setting its
own side and then what the rules make of it on the other side:

- PagerDuty acknowledge -> the issue moves to In Progress; resolve -> Done;
- Jira In Progress -> ``pd_acknowledge`` (a resolved incident stays resolved: acknowledging is
  no reopen); Done -> ``pd_resolve``; To Do -> ``pd_reopen`` (only a resolved incident is
  reopened, to triggered);
- a pair is born with the person's create: a triggered incident's issue starts in To Do, an
  issue's incident starts triggered.

The last person's action therefore decides, and what an earlier one caused on the side the last
one did not touch stays. A pdjira write that lands after a person's action on the same side, with
a value the model never gives that side from then on, overrode that person (a stale command).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "JIRA_STATUS",
    "PD_STATUS",
    "HumanAction",
    "PairState",
    "StatusWrite",
    "expected_state",
    "model_states",
    "overriding_writes",
    "propagated_writes",
    "put_back",
]

Side = Literal["pd", "jira"]
Level = Literal["open", "working", "done"]

PD_STATUS: dict[Level, str] = {"open": "triggered", "working": "acknowledged", "done": "resolved"}
JIRA_STATUS: dict[Level, str] = {"open": "To Do", "working": "In Progress", "done": "Done"}


@dataclass(frozen=True)
class HumanAction:
    """A person's status change (or the create that gave the pair its first status), ``at``
    seconds (epoch) once the vendor had it; ``status`` in the vendor's words."""

    at: float
    side: Side
    status: str


@dataclass(frozen=True)
class PairState:
    pd: str
    jira: str


@dataclass(frozen=True)
class StatusWrite:
    """A status change pdjira made (read back from a vendor's history)."""

    at: float
    side: Side
    status: str


def _level(side: Side, status: str) -> Level:
    table = PD_STATUS if side == "pd" else JIRA_STATUS
    for level, name in table.items():
        if name == status:
            return level
    raise ValueError(f"unknown {side} status {status!r}")


def _apply(state: PairState, action: HumanAction) -> PairState:
    """One person's action and what the rules make of it on the other side."""
    level = _level(action.side, action.status)
    if action.side == "pd":
        return PairState(pd=action.status, jira=JIRA_STATUS[level])
    pd = state.pd
    if level == "done":
        pd = PD_STATUS["done"]
    elif level == "working" and pd == PD_STATUS["open"]:
        pd = PD_STATUS["working"]
    elif level == "open" and pd == PD_STATUS["done"]:
        pd = PD_STATUS["open"]
    return PairState(pd=pd, jira=action.status)


def model_states(actions: Iterable[HumanAction]) -> list[tuple[HumanAction, PairState]]:
    """The pair's state after each action, actions taken in time order; the first action is
    the pair's birth (a create: the other side starts at the same level)."""
    ordered = sorted(actions, key=lambda a: a.at)
    out: list[tuple[HumanAction, PairState]] = []
    state: PairState | None = None
    for action in ordered:
        if state is None:
            level = _level(action.side, action.status)
            state = PairState(pd=PD_STATUS[level], jira=JIRA_STATUS[level])
        else:
            state = _apply(state, action)
        out.append((action, state))
    return out


def expected_state(actions: Sequence[HumanAction]) -> PairState | None:
    """What the pair should end as (None without any action)."""
    states = model_states(actions)
    return states[-1][1] if states else None


def propagated_writes(actions: Sequence[HumanAction]) -> dict[Side, int]:
    """Status writes the rules ask pdjira to make on each side (changes the model makes on
    the side a person did not touch): an upper bound for the successful status writes."""
    counts: dict[Side, int] = {"pd": 0, "jira": 0}
    previous: PairState | None = None
    for action, state in model_states(actions):
        if previous is not None:
            other: Side = "jira" if action.side == "pd" else "pd"
            before = previous.jira if other == "jira" else previous.pd
            after = state.jira if other == "jira" else state.pd
            counts[other] += before != after
        previous = state
    return counts


def overriding_writes(
    actions: Sequence[HumanAction], writes: Sequence[StatusWrite]
) -> list[StatusWrite]:
    """pdjira's status writes that undid a person: written on a side after a person changed
    that side, with a value the model never gives that side from that person's action on."""
    states = model_states(actions)
    found: list[StatusWrite] = []
    for write in writes:
        own = [i for i, (a, _) in enumerate(states) if a.side == write.side and a.at < write.at]
        if not own:
            continue
        allowed = {(s.pd if write.side == "pd" else s.jira) for _, s in states[own[-1] :]}
        if write.status not in allowed:
            found.append(write)
    return found


PUT_BACK_WITHIN = 30.0  # seconds: the writer puts a raced write back right away


def put_back(
    actions: Sequence[HumanAction], writes: Sequence[StatusWrite], override: StatusWrite
) -> bool:
    """Whether pdjira itself undid ``override`` at once: its next write on that side, before
    any person acted there again, set a value the model allows. PagerDuty has no conditional
    update, so a person's resolve landing between the writer's read and its acknowledge is
    detected after the fact (from the log entries) and resolved again."""
    later_people = [a.at for a in actions if a.side == override.side and a.at > override.at]
    until = min([override.at + PUT_BACK_WITHIN, *later_people])
    after = sorted(
        (w for w in writes if w.side == override.side and override.at < w.at <= until),
        key=lambda w: w.at,
    )
    if not after:
        return False
    states = model_states(actions)
    own = [i for i, (a, _) in enumerate(states) if a.side == override.side and a.at < override.at]
    allowed = {(s.pd if override.side == "pd" else s.jira) for _, s in states[own[-1] :]}
    return after[0].status in allowed
