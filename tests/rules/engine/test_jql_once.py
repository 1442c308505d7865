"""Each rule's JQL is evaluated once per Jira event: the questions for Jira and the decision
share the local truths (measured: it was twice, once for each), with the same verdicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pdjira_rules.engine.jql_match as jql_match
import pytest
from pdjira_common.contracts import Event, IssueEvent
from pdjira_rules import handlers
from pdjira_rules.engine import Decision, LocalJql, decide_rules, jql_questions

from ..builders import issue_event, jql_item, pd_rule, stored

CREATED = {"webhook_event": "jira:issue_created", "issue_event_type": "issue_created"}
UNKNOWN_JQL = '"Customer Tier" = Gold'  # a custom field by name: only Jira knows its id
RULES = 5


@pytest.fixture
def evaluated(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The queries evaluated locally, in order."""
    seen: list[Any] = []
    real = jql_match.evaluate

    def counting(query: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(query)
        return real(query, *args, **kwargs)

    monkeypatch.setattr(jql_match, "evaluate", counting)
    return seen


def rules() -> list[Any]:
    """RULES rules, each with its own JQL: all but the last false locally, the last UNKNOWN."""
    jqls = [f"project = NOPE{i}" for i in range(RULES - 1)] + [UNKNOWN_JQL]
    return [
        stored(
            pd_rule(f"r{i}", autocreate_incidents=True, autocreate_incidents_config=[jql_item(j)]),
            rule_id=f"r{i}",
        )
        for i, j in enumerate(jqls)
    ]


def test_the_engine_evaluates_each_jql_once_when_told_the_truths(evaluated: list[Any]) -> None:
    event, in_effect = issue_event(**CREATED), rules()
    local = LocalJql(event)
    assert jql_questions(event, in_effect, None, local_jql=local) == (UNKNOWN_JQL,)
    decision = decide_rules(
        event, in_effect, None, jira_answers={UNKNOWN_JQL: False}, local_jql=local
    )
    assert len(evaluated) == RULES
    # The same verdicts (audits) as each evaluating on its own.
    alone = decide_rules(event, in_effect, None, jira_answers={UNKNOWN_JQL: False})
    assert decision == alone


class _Rules:
    def __init__(self, rules: list[Any]) -> None:
        self.rules = rules

    def current(self) -> list[Any]:
        return self.rules


async def test_the_handler_evaluates_each_rules_jql_once_per_event(
    evaluated: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Decision] = []
    asked: list[tuple[str, ...]] = []

    async def nothing(*_: Any) -> None:
        return None

    async def no_echoes(*_: Any) -> frozenset[str]:
        return frozenset()

    async def answers(
        _jql: Any, _event: Event, questions: tuple[str, ...]
    ) -> tuple[dict[str, bool], tuple[()]]:
        asked.append(questions)
        return dict.fromkeys(questions, False), ()  # answers, none refused by Jira

    async def send(_deciding: Any, _event: Event, decision: Decision, **_kw: Any) -> None:
        sent.append(decision)

    # No NATS: the handler's I/O answers "not linked, no echo, Jira did not return it".
    for name, stand_in in {
        "_link": nothing,
        "_wait_while_link_pending": nothing,
        "_echoes": no_echoes,
        "_synced_as": nothing,
        "_jira_answers": answers,
        "_send": send,
    }.items():
        monkeypatch.setattr(handlers, name, stand_in)
    deciding = handlers.Deciding(
        broker=None,  # type: ignore[arg-type]
        metrics=None,  # type: ignore[arg-type]
        rules=_Rules(rules()),  # type: ignore[arg-type]
        pending=None,  # type: ignore[arg-type]
    )
    event = issue_event(**CREATED)
    assert isinstance(event, IssueEvent)

    decision = await handlers.handle_event(deciding, event, arrived=datetime.now(UTC))

    assert asked == [(UNKNOWN_JQL,)]
    assert sent == [decision]
    assert decision.commands == ()
    assert len(decision.verdicts) == RULES
    assert len(evaluated) == RULES  # once per rule, not once to ask and again to decide
