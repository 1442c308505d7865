"""Verdict reasons: every check made for one rule x item, in order, with its outcome.

Conditions read ``"<fact>: yes"`` / ``"<fact>: no"`` (``"priority P3 not in [P1, P2]: no"``);
a gate that stops the item adds its plain reason (``"incident already linked to OPS-4; ..."``).
An echo skip starts with :data:`pdjira_rules.engine.decision.ECHO`, then the checks made so far.
"""

from __future__ import annotations

from typing import NoReturn

from pdjira_rules.engine.decision import ECHO

__all__ = ["Skip", "Trail"]


class Skip(Exception):
    """The item (or rule) does not act; ``reason`` is the whole verdict text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Trail:
    """The checks of one rule x item so far."""

    def __init__(self) -> None:
        self._steps: list[str] = []

    @property
    def text(self) -> str:
        return "; ".join(self._steps)

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(self._steps)

    def extend(self, steps: tuple[str, ...]) -> None:
        """Checks recorded elsewhere (e.g. kept from an earlier event), in order."""
        self._steps.extend(steps)

    def note(self, text: str) -> None:
        """A fact that is no check (e.g. "jira_change_status: not applied, ...")."""
        self._steps.append(text)

    def check(self, ok: bool, holds: str, fails: str | None = None) -> bool:
        """Record a condition: ``holds`` when it does, ``fails`` (or ``holds``) when not."""
        fact = holds if ok or fails is None else fails
        self._steps.append(f"{fact}: {'yes' if ok else 'no'}")
        return ok

    def require(self, ok: bool, holds: str, fails: str | None = None) -> None:
        """A condition the item cannot do without: skip when it does not hold."""
        if not self.check(ok, holds, fails):
            raise Skip(self.text)

    def gate(self, ok: bool, holds: str, fails: str) -> None:
        """Like :meth:`require`, but a failure reads as its own sentence (no ": no")."""
        if ok:
            self._steps.append(f"{holds}: yes")
        else:
            self.fail(fails)

    def fail(self, reason: str) -> NoReturn:
        self._steps.append(reason)
        raise Skip(self.text)

    def echo(self, what: str) -> NoReturn:
        """Skip as the echo of our own write; the reason starts with ECHO."""
        raise Skip("; ".join([f"{ECHO}: {what}", *self._steps]))
