"""Every page of the console, in nav order: a new page is one import and one line here.

A page module has ``NAV`` (a :class:`~pdjira_console.context.NavEntry` or None) and
``routes(console) -> list[Route]`` (see the package docstring)."""

from __future__ import annotations

from types import ModuleType

from pdjira_console.pages import dead_letters, health, rules, trace, users, webhooks

__all__ = ["PAGES"]

PAGES: list[ModuleType] = [
    health,
    users,
    webhooks,
    dead_letters,
    trace,
    rules,
]
