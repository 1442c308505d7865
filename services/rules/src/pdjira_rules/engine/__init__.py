"""The decision engine (pure, no I/O): every rule — PagerDuty-style, or a simple ``rules:``
entry compiled into one at load — is decided here.

An event, the rules, the incident<->issue link and what mapping and Jira said in; the
commands to send and a verdict per rule x configuration item out (why it acted or not, every
condition spelled out). Modules, one reason each:

- ``scope``: whether a rule applies at all (enabled, account/instance, services/projects/types)
- ``relevance``: which sections an event concerns (and so whether the link is needed)
- ``create_issue`` / ``react_incident``: autocreate_issues / react_on_incident_event
- ``create_incident`` / ``react_status``: autocreate_incidents / react_on_issue_status_change
- ``comments``: sync_comments; ``priority_sync``: priority-only sync through the maps
- ``conditions``: pd_events / pd_priorities / pd_urgency; ``jql_match``: JQL local + answered
- ``jira_actions`` / ``pd_actions``: rendering the actions; ``attrs``: template attributes
- ``incident_facts`` / ``issue_facts`` / ``refs`` / ``priority_maps`` / ``oneline``: readers
- ``trail`` / ``sections`` / ``context`` / ``decision``: verdict text, item running, claims
  across rules, the result
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

from pdjira_common.contracts import Command, Event, IncidentEvent, Link, RuleVerdict

from pdjira_rules.engine.attrs import incident_attrs
from pdjira_rules.engine.context import Context, Outcome
from pdjira_rules.engine.create_incident import open_jql
from pdjira_rules.engine.decision import ECHO, Decision
from pdjira_rules.engine.jql_match import LocalJql
from pdjira_rules.engine.relevance import Section, incident_sections, issue_sections, needs_link
from pdjira_rules.engine.scope import out_of_scope
from pdjira_rules.engine.sections import skipped
from pdjira_rules.rule_model import StoredRule

__all__ = [
    "ECHO",
    "Decision",
    "LocalJql",
    "decide_rules",
    "incident_attrs",
    "jql_questions",
    "needs_link",
]


def jql_questions(
    event: Event,
    rules: Sequence[StoredRule],
    link: Link | None,
    *,
    local_jql: LocalJql | None = None,
) -> tuple[str, ...]:
    """For an IssueEvent: the JQL strings (of autocreate_incidents items that could otherwise
    fire: rule enabled, autocreate_incidents on, instance/project/issue type in scope,
    on_create/on_update fits the webhook, issue not linked) whose local evaluation against the
    event's fields is UNKNOWN. The handler asks Jira ``jira_fallback_query(event.key, jql)``
    for each and passes the answers back. Empty for incident events.

    Items after the first one that matches locally are not asked about: that one creates the
    incident, later ones are skipped whatever Jira would say.

    ``local_jql``: where the local truths go, to be passed to :func:`decide_rules` for the same
    event (each JQL is then evaluated once per event, not once here and again there).
    """
    if isinstance(event, IncidentEvent) or link is not None:
        return ()
    ctx = Context(event=event, link=link, local_jql=local_jql)
    asks: list[str] = []
    for stored in rules:
        if out_of_scope(stored, event) is not None:
            continue
        found, decided = open_jql(ctx, stored)
        asks.extend(found)
        if decided:
            break
    return tuple(dict.fromkeys(asks))


def decide_rules(
    event: Event,
    rules: Sequence[StoredRule],
    link: Link | None,
    *,
    echoes: frozenset[str] = frozenset(),
    synced_as: str | None = None,
    jira_answers: Mapping[str, bool] = {},
    local_jql: LocalJql | None = None,
) -> Decision:
    """Commands, and one RuleVerdict per rule x configuration item considered (item e.g.
    "autocreate_issues_config[0]", "sync_comments", "priority_sync"; a section switched off
    gets one verdict named by its flag), plus one verdict with item None for a rule skipped as
    a whole or concerned by nothing in the event. Rule order is kept: the first rule x item
    to take an action (create the issue, change a status, sync a note...) owns it.

    ``echoes``: fields whose change was our own write; ``synced_as``: the comment (note) the
    event's note (comment) already has; ``jira_answers``: JQL -> whether Jira's search returned
    the issue (see :func:`jql_questions`); ``local_jql``: the JQL truths jql_questions
    evaluated for this event (not evaluated again).
    """
    context = partial(
        Context,
        link=link,
        echoes=echoes,
        synced_as=synced_as,
        jira_answers=jira_answers,
        local_jql=local_jql,
    )
    sections: list[Section]
    if isinstance(event, IncidentEvent):
        sections = incident_sections(context(event=event))
        kind = event.event_type
    else:
        sections = issue_sections(context(event=event))
        kind = event.issue_event_type or event.webhook_event
    commands: list[Command] = []
    verdicts: list[RuleVerdict] = []
    for stored in rules:
        for outcome in _for_rule(stored, event, sections, kind):
            verdicts.append(outcome.verdict)
            commands.extend(outcome.commands)
    return Decision(commands=tuple(commands), verdicts=tuple(verdicts))


def _for_rule(
    stored: StoredRule, event: Event, sections: Sequence[Section], kind: str
) -> list[Outcome]:
    problem = out_of_scope(stored, event)
    if problem is not None:
        return [skipped(stored, None, problem)]
    if not sections:
        return [skipped(stored, None, f"{kind}: nothing in this event concerns this rule")]
    return [outcome for section in sections for outcome in section(stored)]
