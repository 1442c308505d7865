"""Pure decisions of ``UpdateIssueFields``: which fields differ from what the issue has now, and
the ``fields`` of ``PUT /issue/{id}`` that sets only those (convergent: a redelivered command,
or one whose values are already there, writes nothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DESCRIPTION",
    "FieldsPlan",
    "appended_description",
    "fields_to_read",
    "plan_update",
    "same_value",
    "wanted_labels",
]

PRIORITY = "priority"
ASSIGNEE = "assignee"
LABELS = "labels"
DESCRIPTION = "description"


@dataclass(frozen=True, slots=True)
class FieldsPlan:
    """``write``: field id -> REST value to send (empty: nothing differs)."""

    write: dict[str, Any]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.write)


def same_value(current: Any, wanted: Any) -> bool:
    """Whether the issue's ``current`` value already is ``wanted`` (a REST write value).

    Jira answers more than it was sent: ``{"value": "x"}`` comes back as ``{"self", "value",
    "id"}``, ``{"name": "jdoe"}`` as a whole user. So an object matches when every key given
    matches; a list when its items match one to one in any order; anything else by equality."""
    if isinstance(wanted, Mapping):
        return isinstance(current, Mapping) and all(
            same_value(current.get(k), v) for k, v in wanted.items()
        )
    if isinstance(wanted, list | tuple):
        if not isinstance(current, list | tuple) or len(current) != len(wanted):
            return False
        left = list(current)
        for item in wanted:
            match = next((i for i, c in enumerate(left) if same_value(c, item)), None)
            if match is None:
                return False
            left.pop(match)
        return True
    return bool(current == wanted)


def _words(text: str) -> str:
    return " ".join(text.split())


def appended_description(current: str | None, text: str) -> str | None:
    """The description with ``text`` appended, or None when it already ends with it.

    Compared with whitespace collapsed (Jira may store CRLF), so a redelivered command, whose
    text is now at the end, appends nothing."""
    addition = text.strip()
    if not addition:
        return None
    existing = (current or "").rstrip()
    if _words(existing).endswith(_words(addition)):
        return None
    return f"{existing}\n\n{addition}" if existing else addition


def wanted_labels(labels: Sequence[str], keep: str) -> list[str]:
    """The labels to set: the rule's, plus the incident's idempotency label (always kept, or
    the idempotent create would no longer find the issue)."""
    return list(dict.fromkeys([*labels, keep]))


def fields_to_read(
    *, assignee: bool, labels: bool, description: bool, priority: bool, raw: Mapping[str, Any]
) -> list[str]:
    """The field ids ``GET /issue`` must return to compare against."""
    wanted = [
        name
        for name, asked in (
            (PRIORITY, priority),
            (ASSIGNEE, assignee),
            (LABELS, labels),
            (DESCRIPTION, description),
        )
        if asked
    ]
    return list(dict.fromkeys([*wanted, *raw]))


def _same_user(current: Any, name: str) -> bool:
    if not isinstance(current, Mapping):
        return False
    folded = name.casefold()  # Jira Server user names are case-insensitive
    return any(str(current.get(k) or "").casefold() == folded for k in ("name", "key"))


def plan_update(
    current: Mapping[str, Any],
    *,
    priority_id: str | None = None,
    assignee_name: str | None = None,
    labels: Sequence[str] | None = None,
    append_description: str | None = None,
    raw: Mapping[str, Any] | None = None,
) -> FieldsPlan:
    """The fields to write, given the issue's ``current`` values (``fields`` of GET /issue).

    Explicit values win over a raw field of the same id (``raw`` = any other field)."""
    write: dict[str, Any] = {}
    if priority_id is not None:
        now = current.get(PRIORITY)
        if not (isinstance(now, Mapping) and str(now.get("id")) == priority_id):
            write[PRIORITY] = {"id": priority_id}
    if assignee_name is not None and not _same_user(current.get(ASSIGNEE), assignee_name):
        write[ASSIGNEE] = {"name": assignee_name}
    if labels is not None:
        now_labels = current.get(LABELS) or []
        if set(now_labels) != set(labels):
            write[LABELS] = list(labels)
    if append_description is not None:
        now_text = current.get(DESCRIPTION)
        new_text = appended_description(
            now_text if isinstance(now_text, str) else None, append_description
        )
        if new_text is not None:
            write[DESCRIPTION] = new_text
    explicit = {
        PRIORITY: priority_id is not None,
        ASSIGNEE: assignee_name is not None,
        LABELS: labels is not None,
        DESCRIPTION: append_description is not None,
    }
    for field_id, value in (raw or {}).items():
        if explicit.get(field_id):
            continue
        if not same_value(current.get(field_id), value):
            write[field_id] = value
    return FieldsPlan(write=write)
