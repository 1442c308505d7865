"""An autocreate_incidents item's JQL against the issue of a Jira event: evaluated locally
(True / False / UNKNOWN), UNKNOWN answered by Jira's search when the handler asked it.

Each JQL is evaluated once per event (:class:`LocalJql`): the questions for Jira
(``jql_questions``) and the decision (``match_jql``) share the truths; evaluation is pure, so
the verdicts are the same as when each evaluated on its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from functools import lru_cache

from pdjira_common.contracts import IssueEvent

from pdjira_rules.engine.issue_facts import event_time
from pdjira_rules.jql import UNKNOWN, JqlSyntaxError, Query, Truth, evaluate, parse

__all__ = ["JqlResult", "LocalJql", "local_truth", "match_jql"]


@dataclass(frozen=True, kw_only=True)
class JqlResult:
    matched: bool | None  # None: undecided (UNKNOWN locally, no answer) or unparsable
    text: str  # for the verdict


@lru_cache(maxsize=512)
def _parse(jql: str) -> Query | str:
    try:
        return parse(jql)
    except JqlSyntaxError as exc:
        return str(exc)


def local_truth(jql: str, event: IssueEvent, tz: tzinfo | None = None) -> Truth | None:
    """True / False / UNKNOWN against the event's issue; None if the JQL does not parse.
    ``tz``: the zone Jira reads dates in for pdjira (the integration user's); None: not known,
    so a clause that depends on it is UNKNOWN."""
    query = _parse(jql)
    if isinstance(query, str):
        return None
    return evaluate(query, event, now=event_time(event), tz=tz)


class LocalJql:
    """The local truth of each JQL against one event's issue, evaluated on first use only;
    ``tz`` as in :func:`local_truth`."""

    def __init__(self, event: IssueEvent, tz: tzinfo | None = None) -> None:
        self.event = event
        self.tz = tz
        self._truths: dict[str, Truth | None] = {}

    def truth(self, jql: str) -> Truth | None:
        """As :func:`local_truth` (None: unparsable), remembered for this event."""
        if jql not in self._truths:
            self._truths[jql] = local_truth(jql, self.event, self.tz)
        return self._truths[jql]


def match_jql(
    jql: str, event: IssueEvent, answers: Mapping[str, bool], local: LocalJql | None = None
) -> JqlResult:
    """Whether the event's issue matches ``jql``: locally, else by Jira's answer. ``local``: the
    event's truths already evaluated (the same event)."""
    query = _parse(jql)
    if isinstance(query, str):
        return JqlResult(matched=None, text=f"JQL `{jql}` does not parse: {query}")
    if local is None or local.event is not event:
        local = LocalJql(event)
    truth = local.truth(jql)
    if truth is not UNKNOWN:
        verb = "matches" if truth is True else "does not match"
        return JqlResult(matched=truth is True, text=f"issue {verb} JQL `{jql}` (locally)")
    if jql not in answers:
        return JqlResult(
            matched=None,
            text=f"JQL `{jql}` cannot be decided locally and Jira's answer is missing",
        )
    verb = "returned" if answers[jql] else "did not return"
    return JqlResult(
        matched=answers[jql], text=f"JQL `{jql}` undecided locally; Jira's search {verb} the issue"
    )
