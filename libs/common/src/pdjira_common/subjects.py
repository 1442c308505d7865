"""Subject names. The only place a subject string is built."""

from __future__ import annotations

import re

__all__ = [
    "ALL_COMMANDS_JIRA",
    "ALL_COMMANDS_PD",
    "ALL_EVENTS",
    "ALL_OUTCOMES",
    "LINK_LOOKUP",
    "audit",
    "command_jira",
    "command_pd",
    "dlq",
    "event_jira",
    "event_pd",
    "outcome",
    "token",
]

_UNSAFE = re.compile(r"[^A-Za-z0-9_\-]")

ALL_EVENTS = "events.>"
ALL_COMMANDS_JIRA = "commands.jira.>"
ALL_COMMANDS_PD = "commands.pd.>"
ALL_OUTCOMES = "outcomes.>"
LINK_LOOKUP = "mapping.links.lookup"


def token(value: str) -> str:
    """A value made safe as one subject token (ids are usually safe already)."""
    return _UNSAFE.sub("_", value) or "_"


def event_pd(account: str, incident_id: str) -> str:
    return f"events.pd.{token(account)}.{token(incident_id)}"


def event_jira(instance: str, issue_id: str) -> str:
    return f"events.jira.{token(instance)}.{token(issue_id)}"


def command_jira(instance: str, entity: str) -> str:
    return f"commands.jira.{token(instance)}.{token(entity)}"


def command_pd(account: str, entity: str) -> str:
    return f"commands.pd.{token(account)}.{token(entity)}"


def outcome(system: str, target: str) -> str:
    return f"outcomes.{token(system)}.{token(target)}"


def audit(correlation_id: str) -> str:
    return f"audit.{token(correlation_id)}"


def dlq(stream: str, consumer: str) -> str:
    return f"dlq.{token(stream)}.{token(consumer)}"
