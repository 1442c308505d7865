"""The wrapper's priority_map (PagerDuty name -> Jira name) both ways, and its urgency_map
(Jira priority name -> urgency). Names compare case-insensitively."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pdjira_rules.rule_model import PdjiraRule

__all__ = ["jira_priority_for", "lookup", "pd_priority_for", "urgency_for"]

V = TypeVar("V")


def lookup(mapping: Mapping[str, V], key: str | None) -> V | None:
    """``mapping[key]``, else the value of the key equal to it case-insensitively."""
    if not key:
        return None
    if key in mapping:
        return mapping[key]
    folded = key.casefold()
    return next((v for k, v in mapping.items() if k.casefold() == folded), None)


def jira_priority_for(wrapped: PdjiraRule, pd_name: str | None) -> str | None:
    return lookup(wrapped.priority_map, pd_name)


def pd_priority_for(wrapped: PdjiraRule, jira_name: str | None) -> str | None:
    """The first PagerDuty name mapped to ``jira_name``."""
    if not jira_name:
        return None
    folded = jira_name.casefold()
    return next(
        (pd for pd, jira in wrapped.priority_map.items() if jira.casefold() == folded), None
    )


def urgency_for(wrapped: PdjiraRule, jira_name: str | None) -> str | None:
    return lookup(wrapped.urgency_map, jira_name)
