"""Running one section of a rule: its flag, then each configuration item, each ending in a
verdict (matched with commands, or skipped and why)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from pdjira_common.contracts import Command, RuleVerdict

from pdjira_rules.engine.context import Outcome, Subject
from pdjira_rules.engine.trail import Skip, Trail
from pdjira_rules.rule_model import RuleItem, StoredRule

__all__ = ["Consider", "run_item", "run_section", "skipped"]

ItemT = TypeVar("ItemT", bound=RuleItem)
# (subject, trail) -> (commands, what they do); raises Skip.
Consider = Callable[[Subject, Trail], tuple[tuple[Command, ...], str]]


def skipped(stored: StoredRule, item: str | None, reason: str) -> Outcome:
    return Outcome(verdict=RuleVerdict(rule=stored.name, matched=False, reason=reason, item=item))


def run_item(subject: Subject, consider: Consider) -> Outcome:
    """A verdict for one item; a bad param or template (ValueError) is a skip, never a crash."""
    trail = Trail()
    try:
        commands, done = consider(subject, trail)
    except Skip as skip:
        return skipped(subject.stored, subject.item, skip.reason)
    except ValueError as exc:  # TemplateError, RuleDecodeError: refused at load normally
        trail.note(f"cannot render the actions: {exc}")
        return skipped(subject.stored, subject.item, trail.text)
    reason = "; ".join(t for t in (trail.text, done) if t)
    verdict = RuleVerdict(rule=subject.stored.name, matched=True, reason=reason, item=subject.item)
    return Outcome(verdict=verdict, commands=commands)


def run_section(
    stored: StoredRule,
    flag: str,
    items: Sequence[ItemT],
    consider: Callable[[Subject, ItemT, Trail], tuple[tuple[Command, ...], str]],
) -> list[Outcome]:
    """``flag`` off (or no items): one skip for the section; else one verdict per item."""
    if not getattr(stored.wrapped.rule.config, flag):
        return [skipped(stored, flag, f"{flag} is off")]
    if not items:
        return [skipped(stored, flag, f"{flag} is on but has no items")]
    outcomes: list[Outcome] = []
    for i, item in enumerate(items):
        subject = Subject(stored=stored, item=f"{flag}_config[{i}]")

        def one(
            subject: Subject, trail: Trail, item: ItemT = item
        ) -> tuple[tuple[Command, ...], str]:
            return consider(subject, item, trail)

        outcomes.append(run_item(subject, one))
    return outcomes
