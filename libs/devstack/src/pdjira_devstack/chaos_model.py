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
    "acceptable_states",
    "expected_state",
    "model_states",
    "overriding_writes",
    "possible_orders",
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
    return _states(sorted(actions, key=lambda a: a.at))


def _states(ordered: Sequence[HumanAction]) -> list[tuple[HumanAction, PairState]]:
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


def possible_orders(actions: Iterable[HumanAction]) -> list[list[HumanAction]]:
    """The actions in time order, and each order with two people's actions on different sides
    within one whole second swapped: PagerDuty's REST API (what the pd-writer reads, and all
    reconciliation has of a change whose webhook was lost) times changes to the second, so
    their order is not knowable; pdjira then applies the change it is asked to carry."""
    ordered = sorted(actions, key=lambda a: a.at)
    orders = [ordered]
    for i in range(1, len(ordered) - 1):  # the birth stays first
        a, b = ordered[i], ordered[i + 1]
        if a.side != b.side and int(a.at) == int(b.at):
            orders.append([*ordered[:i], b, a, *ordered[i + 2 :]])
    return orders


def acceptable_states(actions: Sequence[HumanAction]) -> list[PairState]:
    """What the pair may end as: the last state of every possible order (see above)."""
    return list(dict.fromkeys(_states(o)[-1][1] for o in possible_orders(actions) if o))


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
    that side, with a value the model never gives that side from that person's action on (in
    any possible order of the people's actions)."""
    found: list[StatusWrite] = []
    for write in writes:
        allowed = _allowed(actions, write)
        if allowed is not None and write.status not in allowed:
            found.append(write)
    return found


def _allowed(actions: Sequence[HumanAction], write: StatusWrite) -> set[str] | None:
    """The values the model gives ``write``'s side from the last person's action there before
    it on (None: no person acted there before it)."""
    allowed: set[str] = set()
    acted = False
    for order in possible_orders(actions):
        states = _states(order)
        own = [i for i, (a, _) in enumerate(states) if a.side == write.side and a.at < write.at]
        if own:
            acted = True
            allowed |= {(s.pd if write.side == "pd" else s.jira) for _, s in states[own[-1] :]}
    return allowed if acted else None


PUT_BACK_WITHIN = 30.0  # seconds: the writer puts a raced write back right away


def put_back(
    actions: Sequence[HumanAction], writes: Sequence[StatusWrite], override: StatusWrite
) -> bool:
    """Whether pdjira itself undid ``override`` at once: a write of its own on that side soon
    after, before any person acted there again, set a value the model allows. PagerDuty has no
    conditional update, so a person's resolve landing between the writer's read and its
    acknowledge is detected after the fact (from the log entries) and resolved again."""
    later_people = [a.at for a in actions if a.side == override.side and a.at > override.at]
    until = min([override.at + PUT_BACK_WITHIN, *later_people])
    after = sorted(
        (w for w in writes if w.side == override.side and override.at < w.at <= until),
        key=lambda w: w.at,
    )
    if not after:
        return False
    allowed = _allowed(actions, override)
    return allowed is not None and any(w.status in allowed for w in after)
