"""Pure decisions of the pd-writer: does a status change need a write, may it override what
the incident is now (the last human change wins), and as whom?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pdjira_common.contracts import AddNote, IssueRef
from pdjira_common.ownership import incident_key_for as incident_key
from pdjira_common.requests import JiraUser, UserReply
from pdjira_common.retry import WaitForPrerequisite
from pdjira_writer.catalog import by_id_or_name
from pdjira_writer.write_order import cause_time, parse_time

from pdjira_pd_writer.models import IncidentSnapshot, IncidentStatus, LogEntry, Note, Priority

__all__ = [
    "ALREADY_THERE_CODES",
    "URGENCIES",
    "Actor",
    "FieldsPlan",
    "already_there",
    "choose_from",
    "find_priority",
    "incident_key",
    "jira_author",
    "needs_write",
    "note_text",
    "pick_incident",
    "plan_fields",
    "posted_note",
    "reopened_resolve",
    "responder_message",
    "status_guard",
    "unknown_priority",
]

URGENCIES = ("high", "low")
_MAX_LISTED = 40

# PagerDuty's codes for "the incident is already in that state" (a race between our GET and
# PUT, e.g. a person resolving it meanwhile): the goal is reached, nothing failed.
ALREADY_THERE_CODES: dict[int, IncidentStatus] = {
    1001: "resolved",  # Incident Already Resolved
    1002: "acknowledged",  # Incident Already Acknowledged
}


def needs_write(current: IncidentStatus, wanted: IncidentStatus) -> bool:
    """Convergent writes: only a different status is written (this stops Jira->PD->Jira loops).

    "triggered" is only ever a reopen (PagerDuty reopens a resolved incident set to triggered);
    an acknowledged incident is not un-acknowledged by it."""
    if wanted == "triggered":
        return current == "resolved"
    return current != wanted


def status_guard(
    incident: IncidentSnapshot,
    wanted: IncidentStatus,
    *,
    caused_at: str | None,
    ours_at: str | None,
) -> str | None:
    """Why setting ``wanted`` must not happen, or None to go on.

    Resolved stays resolved: never acknowledged again; reopened (``triggered``) only by a cause
    newer than the resolve. And a cause older than the incident's latest status change made by
    someone else (its time is not ``ours_at``, the time PagerDuty gave our own last change)
    loses to that change. No cause time (an older publisher): only the first rule applies."""
    changed_at = incident.last_status_change_at
    cause = cause_time(caused_at) if caused_at else None
    changed = parse_time(changed_at) if changed_at else None
    if incident.status == "resolved" and wanted == "acknowledged":
        return (
            f"incident {incident.id} is resolved and stays resolved (acknowledging would reopen "
            "it); only a rule that reopens it (pd_reopen) on a newer change may"
        )
    reopen_too_old = cause is None or (changed is not None and cause <= changed)
    if incident.status == "resolved" and wanted == "triggered" and reopen_too_old:
        return (
            f"incident {incident.id} stays resolved: the reopen's cause "
            f"({caused_at or 'no cause time'}) is not newer than its resolve at "
            f"{changed_at or 'an unknown time'}"
        )
    if cause is None or changed is None or changed_at == ours_at or cause >= changed:
        return None
    who = incident.last_status_change_by
    name = (who.summary or who.id) if who is not None else "someone"
    return f"older than {name}'s change to '{incident.status}' at {changed_at} ({caused_at})"


# Log entries that change an incident's status (PagerDuty logs a reopen as a trigger).
_STATUS_ENTRIES = frozenset(
    {"trigger_log_entry", "acknowledge_log_entry", "unacknowledge_log_entry", "resolve_log_entry"}
)


def reopened_resolve(
    entries: Sequence[LogEntry], our_agent_id: str | None, our_change_at: str | None
) -> LogEntry | None:
    """The resolve our acknowledge just undid, if someone resolved the incident between our
    read and our write (PagerDuty has no conditional update: acknowledging a resolved incident
    reopens it).

    ``entries`` are the incident's log entries, newest first, read right after the write. Ours
    is the newest status entry (by ``our_agent_id`` at ``our_change_at``), with the reopen
    PagerDuty may log with it; a resolve right before means the incident was resolved when our
    write landed, though we had read it open. A status change by anyone after ours stands."""
    status = [e for e in entries if e.type in _STATUS_ENTRIES]
    if our_agent_id is None or our_change_at is None or not status:
        return None

    def ours(entry: LogEntry) -> bool:
        return _agent_id(entry) == our_agent_id and _same_time(entry.created_at, our_change_at)

    if status[0].type != "acknowledge_log_entry" or not ours(status[0]):
        return None
    rest = status[1:]
    if rest and rest[0].type == "trigger_log_entry" and ours(rest[0]):
        rest = rest[1:]  # the reopen our acknowledge made
    return rest[0] if rest and rest[0].type == "resolve_log_entry" else None


def _same_time(a: str, b: str) -> bool:
    parsed = parse_time(a)
    return parsed is not None and parsed == parse_time(b)


def _agent_id(entry: LogEntry) -> str | None:
    agent = entry.agent or {}
    value = agent.get("id")
    return value if isinstance(value, str) else None


def already_there(error_code: int | None, wanted: IncidentStatus) -> bool:
    """Whether PagerDuty's refusal means the incident already has the wanted status."""
    return error_code is not None and ALREADY_THERE_CODES.get(error_code) == wanted


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a write is made as: ``email`` for ``From`` (None: skip the write, ``why`` says)."""

    email: str | None
    source: str
    why: str = ""


def choose_from(reply: UserReply | None, integration_email: str) -> Actor:
    """``From``: the mapped user of the Jira user who caused the change, else the fallback
    user, else the configured integration user; none of them: no write."""
    if reply is not None and reply.error is not None:
        # Mapping could not answer (e.g. the user search is held back by the vendor's rate
        # limit): not "nobody", and not this command's failure: it waits for an answer.
        raise WaitForPrerequisite(f"user lookup failed: {reply.error}")
    if reply is not None and reply.pd_user is not None and reply.pd_user.email:
        return Actor(email=reply.pd_user.email, source=reply.source or "mapped")
    if integration_email.strip():
        return Actor(email=integration_email.strip(), source="integration")
    why = reply.reason if reply is not None and reply.reason else "no user mapping"
    return Actor(
        email=None,
        source="none",
        why=f"skipped: no PagerDuty user to act as ({why}) and no from_email is configured; "
        "map the Jira user, set a fallback user, or set pagerduty_accounts[].from_email",
    )


def note_text(body: str, actor: Actor, jira_author: str | None) -> str:
    """The note as posted: as is when written as the person; else naming the Jira author
    (``jira_author``: their display name, else their login or key)."""
    text = body.strip()
    if actor.source in ("manual", "email", "mapped") or not jira_author:
        return text
    return f"[{jira_author} in Jira]\n{text}"


def jira_author(command: AddNote, reply_user: JiraUser | None) -> str | None:
    """How a note names the Jira author of a comment: the display name the event carried,
    else the one mapping found, else the login, else the key."""
    found = reply_user.display_name if reply_user is not None else None
    return (
        command.author_display_name
        or found
        or command.author_jira_user_name
        or command.author_jira_user_key
    )


def posted_note(notes: Sequence[Note], text: str) -> Note | None:
    """The newest note whose text is exactly ``text`` (what we would post), if any."""
    wanted = text.strip()
    return next((n for n in reversed(notes) if n.content.strip() == wanted), None)


def pick_incident(found: tuple[IncidentSnapshot, ...]) -> IncidentSnapshot | None:
    """The issue's incident among those with its key: an open one first, else the oldest
    (PagerDuty allows one open incident per key and service; resolved ones are still ours)."""
    if not found:
        return None
    open_ = [i for i in found if i.status != "resolved"]
    return (open_ or list(found))[0]


# ---------------------------------------------------------------- UpdateIncidentFields


def find_priority(items: Sequence[Priority], wanted: str) -> Priority | None:
    """The priority whose id is ``wanted``, else whose name ("P1") is, case-insensitively
    (several with one name: the most severe, as PagerDuty itself picks, i.e. listed first)."""
    return by_id_or_name(items, wanted, lambda p: (p.name, p.summary))


def unknown_priority(wanted: str, items: Sequence[Priority], account: str) -> str:
    if not items:
        return (
            f"PagerDuty account '{account}' has no priorities (the feature is not on its plan "
            f"or none are defined), so priority '{wanted}' cannot be set; remove the priority "
            "from the rule, or turn on incident priorities in PagerDuty"
        )
    listed = ", ".join(f"{p.label} (id {p.id})" for p in items[:_MAX_LISTED])
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return (
        f"PagerDuty account '{account}' has no priority '{wanted}' (by id or name); it has "
        f"{listed}{more}; fix the priority in the rule"
    )


@dataclass(frozen=True, slots=True)
class FieldsPlan:
    """What differs from the incident: ``None`` / empty fields are left alone; ``notes`` say
    what was left alone although asked for, and why."""

    priority: Priority | None = None
    urgency: str | None = None
    responders: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        named = (
            ("priority", self.priority is not None),
            ("urgency", self.urgency is not None),
            ("responders", bool(self.responders)),
        )
        return tuple(name for name, set_ in named if set_)


def plan_fields(
    incident: IncidentSnapshot,
    *,
    priority: Priority | None,
    urgency: str | None,
    add_responders: Sequence[str],
) -> FieldsPlan:
    """Convergent: only what the incident does not have yet is written; a responder already
    on the incident (requested, joined or declined) is not requested again."""
    notes: list[str] = []
    new_priority = None
    if priority is not None and (incident.priority is None or incident.priority.id != priority.id):
        new_priority = priority
    new_urgency = urgency if urgency is not None and urgency != incident.urgency else None
    missing = tuple(u for u in dict.fromkeys(add_responders) if u not in incident.responder_ids)
    if missing and incident.status == "resolved":
        notes.append(
            f"responders {', '.join(missing)} not requested: incident {incident.id} is resolved"
        )
        missing = ()
    return FieldsPlan(
        priority=new_priority, urgency=new_urgency, responders=missing, notes=tuple(notes)
    )


def responder_message(cause: IssueRef | None) -> str:
    """The message of a responder request: why pdjira asks (the Jira issue that caused it)."""
    if cause is None:
        return "pdjira requests your help on this incident"
    return f"pdjira requests your help on this incident (Jira issue {cause.key})"
