"""What one decision knows (the event, link, echoes, answers...) and what it has claimed so far:
the first rule x item to take an action owns it for this event (one issue per incident, one
status change per event...), later ones are skipped naming it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pdjira_common.contracts import Command, Event, IssueEvent, Link, RuleVerdict

from pdjira_rules.engine.jql_match import LocalJql
from pdjira_rules.rule_model import StoredRule

__all__ = ["Context", "Outcome", "Subject"]

E = TypeVar("E", bound=Event)


@dataclass(kw_only=True)
class Context(Generic[E]):
    event: E
    link: Link | None
    echoes: frozenset[str] = frozenset()
    synced_as: str | None = None
    jira_answers: Mapping[str, bool] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # action -> who took it
    # The JQL truths of an issue event, evaluated once per JQL (shared with jql_questions).
    local_jql: LocalJql | None = None

    def jql(self) -> LocalJql:
        """This (issue) event's JQL truths: the ones given if they are of this event."""
        event = self.event
        assert isinstance(event, IssueEvent), "JQL is evaluated against issue events only"
        if self.local_jql is None or self.local_jql.event is not event:
            self.local_jql = LocalJql(event)
        return self.local_jql

    def owner(self, action: str) -> str | None:
        return self.owners.get(action)

    def claim(self, action: str, by: str) -> None:
        self.owners.setdefault(action, by)


@dataclass(frozen=True, kw_only=True)
class Subject:
    """One rule x configuration item under consideration."""

    stored: StoredRule
    item: str  # e.g. "autocreate_issues_config[0]"

    @property
    def who(self) -> str:
        """How a later skip names the owner."""
        return f"rule {self.stored.name!r} ({self.item})"


@dataclass(frozen=True, kw_only=True)
class Outcome:
    verdict: RuleVerdict
    commands: tuple[Command, ...] = ()
