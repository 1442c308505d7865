"""An autocreate_incidents item's JQL against the issue of a Jira event: evaluated locally
(True / False / UNKNOWN), UNKNOWN answered by Jira's search when the handler asked it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from pdjira_common.contracts import IssueEvent

from pdjira_rules.engine.issue_facts import event_time
from pdjira_rules.jql import UNKNOWN, JqlSyntaxError, Query, Truth, evaluate, parse

__all__ = ["JqlResult", "local_truth", "match_jql"]


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


def local_truth(jql: str, event: IssueEvent) -> Truth | None:
    """True / False / UNKNOWN against the event's issue; None if the JQL does not parse."""
    query = _parse(jql)
    if isinstance(query, str):
        return None
    return evaluate(query, event, now=event_time(event))


def match_jql(jql: str, event: IssueEvent, answers: Mapping[str, bool]) -> JqlResult:
    query = _parse(jql)
    if isinstance(query, str):
        return JqlResult(matched=None, text=f"JQL `{jql}` does not parse: {query}")
    truth = evaluate(query, event, now=event_time(event))
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
