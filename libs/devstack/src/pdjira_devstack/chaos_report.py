"""The chaos run's result: what happened, what was injected, and each check with its count and
a few examples; printed as a table or as JSON (pure)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

__all__ = ["CHECKS", "ChaosReport", "Check", "render_table"]

# The checks that fail the run, in the order of the table.
CHECKS = (
    "lost",
    "duplicates",
    "not converged",
    "overridden",
    "writes beyond expected",
    "dlq unexpected",
    "poison not dead-lettered",
)
EXAMPLES = 5  # per check in the table (the JSON has them all)


@dataclass
class Check:
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str, count: int = 1) -> None:
        self.count += count
        self.examples.append(example)


@dataclass
class ChaosReport:
    seed: int
    scale: float
    seconds: float = 0.0
    events: dict[str, int] = field(default_factory=dict)  # people's actions by kind
    faults: dict[str, int] = field(default_factory=dict)
    recovered: dict[str, int] = field(default_factory=dict)  # by reconciliation
    writes: dict[str, int] = field(default_factory=dict)  # vendor write calls by kind
    notes: list[str] = field(default_factory=list)  # what the harness itself noticed
    # pdjira writes that raced a person's change and that pdjira undid at once (not failures)
    put_back: int = 0
    checks: dict[str, Check] = field(default_factory=lambda: {name: Check() for name in CHECKS})

    @property
    def failed(self) -> list[str]:
        return [name for name, check in self.checks.items() if check.count]

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "failed": self.failed}, indent=2, sort_keys=False)


def _section(title: str, rows: dict[str, int]) -> list[tuple[str, str]]:
    return [(title, ""), *((f"  {k}", str(v)) for k, v in rows.items())]


def render_table(report: ChaosReport) -> str:
    """Two columns, one row per figure; failed checks marked and followed by examples."""
    rows: list[tuple[str, str]] = [
        ("run", f"seed {report.seed}, scale {report.scale}, {report.seconds:.0f} s"),
        *_section("events (people)", report.events),
        *_section("faults", report.faults),
        *_section("recovered by reconciliation", report.recovered),
        *_section("vendor writes", report.writes),
        ("raced a person's change, put back at once", str(report.put_back)),
        ("checks", ""),
    ]
    for name, check in report.checks.items():
        rows.append((f"  {name}", f"{check.count}{'  FAIL' if check.count else ''}"))
        rows.extend(("", f"    {example}") for example in check.examples[:EXAMPLES])
        if len(check.examples) > EXAMPLES:
            rows.append(("", f"    ... {len(check.examples) - EXAMPLES} more (--json)"))
    width = max(len(left) for left, _ in rows) + 2
    lines = [f"{left:<{width}}{right}".rstrip() for left, right in rows]
    lines.extend(f"note: {note}" for note in report.notes)
    verdict = "FAILED: " + ", ".join(report.failed) if report.failed else "all checks passed"
    return "\n".join([*lines, verdict])
