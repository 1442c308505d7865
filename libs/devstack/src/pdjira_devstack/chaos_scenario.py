"""The chaos run's script, drawn from a seed (pure): what people do to which pair and when,
and when the faults strike. The same seed and scale give the same plan."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["ChaosSize", "FaultPlan", "PairScript", "Plan", "Step", "make_plan"]

StepKind = Literal[
    "pd_create",
    "jira_create",
    "pd_status",
    "jira_status",
    "pd_note",
    "jira_comment",
    "wait_partner",  # until pdjira made the other side (the issue of an incident, or back)
    "wait_jira_status",  # until the issue shows ``value`` (pdjira moved it)
]

# PagerDuty-born pairs: what people do after the trigger (weights sum to 1). The conflicting
# ones act on the other side while the sync of the first action is in flight.
PD_VARIANTS: dict[str, float] = {
    "pd ack, resolve": 0.24,
    "pd resolve": 0.10,
    "jira in progress, done": 0.14,
    "jira in progress + pd resolve": 0.12,
    "pd ack + jira done": 0.12,
    "pd resolve, jira reopen": 0.10,
    "stays triggered": 0.06,
    "stays acknowledged": 0.12,
}
JIRA_VARIANTS: dict[str, float] = {
    "jira in progress, done": 0.25,
    "jira done at once": 0.15,
    "pd ack": 0.30,
    "stays open": 0.30,
}
SERVICES = ("ingest", "rules", "jira-writer", "pd-writer", "mapping")


@dataclass(frozen=True)
class Step:
    kind: StepKind
    delay: float = 0.0  # seconds after the previous step
    value: str = ""  # a status name, or the text of a note/comment


@dataclass(frozen=True)
class PairScript:
    name: str  # "P0007" (born in PagerDuty) or "J0003" (born in Jira)
    start: float  # seconds into the run
    variant: str
    steps: tuple[Step, ...]

    @property
    def origin(self) -> Literal["pd", "jira"]:
        return "pd" if self.name.startswith("P") else "jira"


@dataclass(frozen=True)
class FaultPlan:
    kills: tuple[tuple[float, str], ...]  # (seconds into the run, service), in time order
    broker_restarts: tuple[float, ...]
    ingest_outage: tuple[float, float]  # (start, seconds down): Jira's webhooks meanwhile lost
    throttle_bursts: tuple[float, ...]  # when a burst of 429s starts (both vendors)


@dataclass(frozen=True)
class ChaosSize:
    incidents: int = 320
    jira_issues: int = 40
    notes: int = 122
    window: float = 150.0  # seconds during which people act and faults strike
    kills_per_service: int = 4
    broker_restarts: int = 2
    ingest_outage: float = 4.0
    reconcile_interval: float = 5.0
    partner_wait: float = 90.0  # how long a person waits for pdjira to make the other side

    @classmethod
    def scaled(cls, scale: float) -> ChaosSize:
        full = cls()
        return cls(
            incidents=max(4, round(full.incidents * scale)),
            jira_issues=max(2, round(full.jira_issues * scale)),
            notes=max(4, round(full.notes * scale)),
            window=max(12.0, full.window * scale),
            kills_per_service=max(1, round(full.kills_per_service * scale)),
            broker_restarts=1 if scale < 0.5 else full.broker_restarts,
            ingest_outage=2.0 if scale < 0.5 else full.ingest_outage,
            reconcile_interval=2.0 if scale < 0.5 else full.reconcile_interval,
            partner_wait=12.0 if scale < 0.5 else full.partner_wait,
        )


@dataclass(frozen=True)
class Plan:
    seed: int
    size: ChaosSize
    pairs: tuple[PairScript, ...]
    faults: FaultPlan
    notes_by_side: dict[str, int] = field(default_factory=dict)


def _pause(rng: random.Random) -> float:
    return round(rng.uniform(0.3, 3.0), 3)


def _soon(rng: random.Random) -> float:
    """The other person acts while the first action's sync is in flight."""
    return round(rng.uniform(0.0, 0.3), 3)


def _pd_steps(variant: str, rng: random.Random) -> list[Step]:
    ack, resolve = (
        Step("pd_status", _pause(rng), "acknowledged"),
        Step("pd_status", _pause(rng), "resolved"),
    )
    partner = Step("wait_partner")
    return {
        "pd ack, resolve": [ack, resolve],
        "pd resolve": [resolve],
        "jira in progress, done": [
            partner,
            Step("jira_status", _pause(rng), "In Progress"),
            Step("jira_status", _pause(rng), "Done"),
        ],
        "jira in progress + pd resolve": [
            partner,
            Step("jira_status", _pause(rng), "In Progress"),
            Step("pd_status", _soon(rng), "resolved"),
        ],
        "pd ack + jira done": [
            partner,
            Step("pd_status", _pause(rng), "acknowledged"),
            Step("jira_status", _soon(rng), "Done"),
        ],
        "pd resolve, jira reopen": [
            resolve,
            Step("wait_jira_status", 0.0, "Done"),
            Step("jira_status", _pause(rng), "To Do"),
        ],
        "stays triggered": [],
        "stays acknowledged": [ack],
    }[variant]


def _jira_steps(variant: str, rng: random.Random) -> list[Step]:
    return {
        "jira in progress, done": [
            Step("jira_status", _pause(rng), "In Progress"),
            Step("jira_status", _pause(rng), "Done"),
        ],
        "jira done at once": [Step("jira_status", _soon(rng), "Done")],
        "pd ack": [Step("wait_partner"), Step("pd_status", _pause(rng), "acknowledged")],
        "stays open": [],
    }[variant]


def _pick(variants: dict[str, float], rng: random.Random) -> str:
    return rng.choices(list(variants), weights=list(variants.values()))[0]


def _with_note(steps: list[Step], note: Step, origin: str, rng: random.Random) -> list[Step]:
    """``note`` at a random place after the create; on the side pdjira makes, after the
    partner exists (a person cannot comment on an issue that is not there yet)."""
    own = "pd_note" if origin == "pd" else "jira_comment"
    at = rng.randint(1, len(steps))
    if note.kind == own:
        return [*steps[:at], note, *steps[at:]]
    return [*steps[:at], Step("wait_partner"), note, *steps[at:]]


def _faults(size: ChaosSize, rng: random.Random) -> FaultPlan:
    w = size.window
    kills = sorted(
        (round(rng.uniform(0.1 * w, 0.85 * w), 2), service)
        for service in SERVICES
        for _ in range(size.kills_per_service)
    )
    restarts = tuple(
        sorted(round(rng.uniform(0.2 * w, 0.8 * w), 2) for _ in range(size.broker_restarts))
    )
    outage = (round(rng.uniform(0.3 * w, 0.6 * w), 2), size.ingest_outage)
    bursts = tuple(sorted(round(rng.uniform(0.05 * w, 0.9 * w), 2) for _ in range(4)))
    return FaultPlan(tuple(kills), restarts, outage, bursts)


def make_plan(seed: int, size: ChaosSize) -> Plan:
    rng = random.Random(seed)
    scripts: list[tuple[str, str, list[Step]]] = []
    for i in range(size.incidents):
        variant = _pick(PD_VARIANTS, rng)
        title = f"chaos {seed} incident {i}"
        scripts.append((f"P{i:04d}", variant, [Step("pd_create", 0.0, title)]))
        scripts[-1][2].extend(_pd_steps(variant, rng))
    for j in range(size.jira_issues):
        variant = _pick(JIRA_VARIANTS, rng)
        summary = f"chaos {seed} issue {j}"
        scripts.append((f"J{j:04d}", variant, [Step("jira_create", 0.0, summary)]))
        scripts[-1][2].extend(_jira_steps(variant, rng))
    by_side = {"pd_note": 0, "jira_comment": 0}
    for n in range(size.notes):
        index = rng.randrange(len(scripts))
        name, variant, steps = scripts[index]
        kind: StepKind = "pd_note" if rng.random() < 0.5 else "jira_comment"
        by_side[kind] += 1
        note = Step(kind, _pause(rng), f"chaos-{seed}-note-{n:04d} from a person on {name}")
        origin = "pd" if name.startswith("P") else "jira"
        scripts[index] = (name, variant, _with_note(steps, note, origin, rng))
    starts = sorted(round(rng.uniform(0.0, 0.7 * size.window), 3) for _ in scripts)
    rng.shuffle(starts)
    pairs = tuple(
        PairScript(name, start, variant, tuple(steps))
        for (name, variant, steps), start in zip(scripts, starts, strict=True)
    )
    return Plan(seed, size, pairs, _faults(size, rng), by_side)
