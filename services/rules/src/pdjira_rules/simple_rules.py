"""The simple rule set (``rules:`` in the config) compiled into PagerDuty-style rules at load,
so that one engine decides every event.

A simple rule becomes our wrapper around PagerDuty's rule, as it could be written under
``pagerduty_rules`` (and goes through the same checks):

- ``create_on_trigger``: ``autocreate_issues`` with one item on ``incident.trigger``, creating
  ``issue_type`` in ``project`` (summary from the title, the engine's default description,
  label ``pagerduty``: what the simple set always wrote);
- ``on_acknowledge`` / ``on_resolve``: a ``react_on_incident_event`` item each, moving the issue
  to that status by name, with ``resolution`` only when resolving (``resolution_events``);
- ``resolve_when_status``: a ``react_on_issue_status_change`` item resolving the incident;
- notes <-> comments: ``sync_comments``;
- beside the rule: ``all_services`` when ``services`` is empty (every service of the account),
  ``all_issue_types`` (Jira events are scoped by project only), ``sync_priority`` off (the
  simple set never synced priorities).

Problems found in a compiled rule are reported at the simple rule's own settings
(:func:`simple_rule_problem`), e.g. ``$.rules[0].on_acknowledge: status 'Doen' does not exist;
statuses: To Do, In Progress, Done``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from pdjira_common.config import SyncRule

from pdjira_rules.rule_model import PdjiraRule
from pdjira_rules.rule_validation import Problem

__all__ = ["compile_simple_rule", "simple_rule_path", "simple_rule_problem"]

TRIGGER: Final = "incident.trigger"
ACKNOWLEDGE: Final = "incident.acknowledge"
RESOLVE: Final = "incident.resolve"


def _move_to(event: str, status: str) -> dict[str, Any]:
    return {
        "condition": {"pd_events": [event]},
        "actions": [{"key": "jira_change_status"}],
        "actions_params": {"jira_change_status": {"label": status}},
    }


def compile_simple_rule(rule: SyncRule) -> dict[str, Any]:
    """The wrapper ``{account, instance, rule: {...}, ...}`` (raw, as in ``pagerduty_rules``)
    that decides every event as ``rule`` says."""
    creates = [{"condition": {"pd_events": [TRIGGER]}}] if rule.create_on_trigger else []
    moves = [
        _move_to(event, status)
        for event, status in ((ACKNOWLEDGE, rule.on_acknowledge), (RESOLVE, rule.on_resolve))
        if status is not None
    ]
    resolves = [
        {
            "jira_statuses": [{"label": status} for status in rule.resolve_when_status],
            "actions": [{"key": "pd_resolve"}],
        }
    ]
    config = {
        "sync_comments": True,
        "services": [{"id": service} for service in rule.services],
        "projects": [{"key": rule.project}],
        "issue_types": [{"label": rule.issue_type}],
        "autocreate_issues": bool(creates),
        "autocreate_issues_config": creates,
        "react_on_incident_event": bool(moves),
        "react_on_incident_event_config": moves,
        "react_on_issue_status_change": bool(rule.resolve_when_status),
        "react_on_issue_status_change_config": resolves if rule.resolve_when_status else [],
    }
    return {
        "account": rule.account,
        "instance": rule.instance,
        "rule": {"name": rule.name, "enabled": True, "config": config},
        "resolution": rule.resolution,
        "resolution_events": [RESOLVE],
        "sync_priority": False,
        "all_services": not rule.services,
        "all_issue_types": True,
    }


_MOVED_BY: Final = {ACKNOWLEDGE: "on_acknowledge", RESOLVE: "on_resolve"}
_ITEM: Final = re.compile(r"^\$\.rule\.config\.react_on_incident_event_config\[(\d+)\]")
_FIXED: Final = (
    ("$.account", "account"),
    ("$.instance", "instance"),
    ("$.rule.name", "name"),
    ("$.rule.config.services", "services"),
    ("$.rule.config.projects[0]", "project"),
    ("$.rule.config.issue_types[0]", "issue_type"),
    ("$.rule.config.autocreate_issues_config[0]", "create_on_trigger"),
    ("$.rule.config.react_on_issue_status_change_config[0].jira_statuses", "resolve_when_status"),
    ("$.resolution", "resolution"),
)


def simple_rule_path(path: str, wrapped: PdjiraRule | None, where: str) -> str:
    """Where in the config a problem at ``path`` of the compiled ``wrapped`` lies, as the
    simple rule at ``where`` (e.g. "$.rules[0]") spells it: "$.rule.config.projects[0]" ->
    "$.rules[0].project"; a part with no setting of its own is the rule itself."""
    item = _ITEM.match(path)
    if item is not None:
        if wrapped is None:
            return where
        items = wrapped.rule.config.react_on_incident_event_config
        index = int(item.group(1))
        events = items[index].condition.pd_events if index < len(items) else ()
        setting = next((_MOVED_BY[e] for e in events if e in _MOVED_BY), None)
        return f"{where}.{setting}" if setting else where
    for compiled, setting in _FIXED:
        if path == compiled or path.startswith((compiled + ".", compiled + "[")):
            return f"{where}.{setting}{path[len(compiled) :]}"
    return where


_FIELD_REMEDY: Final = re.compile(
    r"; set it with a jira_field_set_\S+ action or in field_templates$"
)


def simple_rule_problem(problem: Problem, wrapped: PdjiraRule | None, where: str) -> Problem:
    """A problem of the compiled ``wrapped`` as one of the simple rule at ``where``, with a
    remedy a simple rule can apply."""
    message = _FIELD_REMEDY.sub(
        "; a simple rule cannot fill it: turn create_on_trigger off, or write the rule under "
        "pagerduty_rules with field_templates",
        problem.message,
    )
    return Problem(path=simple_rule_path(problem.path, wrapped, where), message=message)
