"""Request/reply contracts between services (core NATS, not streams).

- mapping answers user lookups and echo marks (it is the single writer of both);
- the writers answer vendor reads for others, so all traffic to one vendor shares one budget.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import msgspec

from pdjira_common.contracts import FieldChange, IncidentRef
from pdjira_common.facts import IncidentFacts, IssueFields, PdAgent
from pdjira_common.facts import JiraUser as FactsJiraUser
from pdjira_common.subjects import token

__all__ = [
    "ECHO_CONSUME",
    "ECHO_MARK",
    "LINKS_CHANGED",
    "PAIR_LOOKUP",
    "USER_LOOKUP",
    "EchoConsume",
    "EchoMark",
    "EchoReply",
    "JiraCatalogRead",
    "JiraChangesRead",
    "JiraChangesReply",
    "JiraCommentChange",
    "JiraCreateMetaRead",
    "JiraCreateMetaReply",
    "JiraFieldMeta",
    "JiraHistory",
    "JiraIssueChanges",
    "JiraIssueSummary",
    "JiraNamed",
    "JiraNamesReply",
    "JiraPrioritiesRead",
    "JiraSearchRead",
    "JiraSearchReply",
    "JiraStatusesRead",
    "JiraUser",
    "JiraUserSearch",
    "JiraUsersReply",
    "PairLookup",
    "PairReply",
    "PdCatalogRead",
    "PdChangesRead",
    "PdChangesReply",
    "PdIncidentChanges",
    "PdLogEntry",
    "PdNamed",
    "PdNamesReply",
    "PdNoteChange",
    "PdUser",
    "PdUserRead",
    "PdUserReply",
    "PdUserSearch",
    "UserLookup",
    "UserReply",
    "body_digest",
    "jira_read_subject",
    "pd_read_subject",
]

USER_LOOKUP = "mapping.users.lookup"
ECHO_MARK = "mapping.echo.mark"
ECHO_CONSUME = "mapping.echo.consume"
PAIR_LOOKUP = "mapping.pairs.lookup"
# Broadcast among mapping replicas (no queue group): these KV keys changed, drop cached copies.
LINKS_CHANGED = "mapping.links.changed"

System = Literal["pd", "jira"]
UserSource = Literal["manual", "email", "fallback"]


def pd_read_subject(account: str, what: str) -> str:
    """Reads pd-writer answers for others, e.g. ``reads.pd.main.user``."""
    return f"reads.pd.{token(account)}.{what}"


def jira_read_subject(instance: str, what: str) -> str:
    """Reads jira-writer answers for others, e.g. ``reads.jira.main.users_by_email``."""
    return f"reads.jira.{token(instance)}.{what}"


# ---------------------------------------------------------------- users


class PdUser(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str | None = None
    name: str | None = None


class JiraUser(msgspec.Struct, frozen=True, kw_only=True):
    """A Jira Server/DC user: ``name`` (login, can change) and ``key`` (immutable)."""

    name: str
    key: str
    email: str | None = None
    display_name: str | None = None


class UserLookup(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.user_lookup.v1"):
    """Who is this person on the other side? Give exactly one of the two users."""

    account: str
    instance: str
    pd_user_id: str | None = None
    jira_user_key: str | None = None
    # The Jira login of ``jira_user_key`` when known (webhooks carry both): finding the user's
    # e-mail needs it, since Jira Server searches users by name, not key.
    jira_user_name: str | None = None


class UserReply(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.user_reply.v1"):
    """The counterpart (manual link, then email, then fallback) or none, with why."""

    pd_user: PdUser | None = None
    jira_user: JiraUser | None = None
    source: UserSource | None = None
    reason: str = ""
    # Set when mapping could not answer (a writer's read failed or timed out): not a miss,
    # nothing was cached; ask again later.
    error: str | None = None


# ---------------------------------------------------------------- echo marks


class EchoMark(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.echo_mark.v1"):
    """We are about to set ``field`` of ``entity`` to ``value``: the webhook after it is ours."""

    system: System
    entity: str  # incident id (pd) or issue id (jira), prefixed by account/instance id
    field: str  # "status", "priority", "comment", "note", ...
    value: str
    ttl_seconds: float = 300.0


class EchoConsume(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.echo_consume.v1"):
    """Is this change the echo of our own write? Consumes the mark when it is.

    With ``event_id``, asking again for the same event (a redelivery) matches again instead of
    finding the mark gone.
    """

    system: System
    entity: str
    field: str
    value: str
    event_id: str | None = None


def body_digest(text: str) -> str:
    """Echo value of a comment or note body: sha256 of the text with whitespace normalized
    (runs of spaces/newlines -> one space, ends stripped), so CRLF vs LF does not matter."""
    normalized = " ".join(text.split())
    return hashlib.sha256(normalized.encode()).hexdigest()


# ---------------------------------------------------------------- note <-> comment pairs


class PairLookup(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.pair_lookup.v1"):
    """Has note ``note_id`` (or comment ``comment_id``) of this incident's link been synced?"""

    incident: IncidentRef
    note_id: str | None = None
    comment_id: str | None = None


class PairReply(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.pair_reply.v1"):
    """Both ids when the pair exists; only the asked one (the other None) when it does not."""

    note_id: str | None = None
    comment_id: str | None = None


class EchoReply(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.echo_reply.v1"):
    matched: bool


# ---------------------------------------------------------------- reads served by the writers


class PdUserRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_user.v1"):
    account: str
    user_id: str


class PdUserReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_user_reply.v1"):
    user: PdUser | None = None
    error: str | None = None


class PdUserSearch(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_user_search.v1"):
    """The PagerDuty user with this e-mail (``GET /users?query=``, exact e-mail match);
    answered on ``reads.pd.<account>.users_by_email`` with a :class:`PdUserReply`."""

    account: str
    email: str


class JiraUserSearch(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_user_search.v1"):
    """Jira users whose username, name or e-mail matches (``user/search?username=``)."""

    instance: str
    query: str


class JiraUsersReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_users_reply.v1"):
    users: tuple[JiraUser, ...] = ()
    error: str | None = None


# ---------------------------------------------------------------- Jira reads (jira-writer)


class JiraSearchRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_search.v1"):
    """JQL fallback: issues matching ``jql`` (e.g. ``key = X AND (<rule jql>)``)."""

    instance: str
    jql: str
    max_results: int = 50


class JiraIssueSummary(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    key: str
    status: str = ""


class JiraSearchReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_search_reply.v1"):
    total: int = 0
    issues: tuple[JiraIssueSummary, ...] = ()
    error: str | None = None
    # Jira refused the query itself (400, bad JQL; ``error`` has Jira's words): asking again
    # will not help.
    rejected: bool = False


class JiraCreateMetaRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_createmeta.v1"):
    """The fields of the create screen of ``project`` / ``issue_type`` (name or id)."""

    instance: str
    project: str
    issue_type: str


class JiraFieldMeta(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    required: bool = False


class JiraCreateMetaReply(
    msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_createmeta_reply.v1"
):
    fields: tuple[JiraFieldMeta, ...] = ()
    error: str | None = None


class JiraStatusesRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_statuses.v1"):
    instance: str


class JiraPrioritiesRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_priorities.v1"):
    instance: str


class JiraNamed(msgspec.Struct, frozen=True, kw_only=True):
    """A status, priority, ... by id and name (``category``: a status's category key)."""

    id: str
    name: str
    category: str | None = None
    key: str | None = None  # projects: the project key
    # fields: a custom field's type key (``schema.custom``, e.g.
    # "com.atlassian.jira.plugin.system.customfieldtypes:textfield"): what JQL operators it takes
    custom_type: str | None = None


class JiraNamesReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_names_reply.v1"):
    items: tuple[JiraNamed, ...] = ()
    error: str | None = None


class JiraCatalogRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_catalog.v1"):
    """One list of what exists on a Jira instance, answered with :class:`JiraNamesReply` on
    ``reads.jira.<instance>.<what>``: ``projects`` (``key`` set), ``issue_types``,
    ``resolutions`` or ``fields`` (custom fields too)."""

    instance: str
    what: Literal["projects", "issue_types", "resolutions", "fields"]


# ---------------------------------------------------------------- PagerDuty reads (pd-writer)


class PdCatalogRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_catalog.v1"):
    """One list of what exists in a PagerDuty account, answered with :class:`PdNamesReply` on
    ``reads.pd.<account>.<what>``: ``services`` or ``priorities`` (``GET /services``,
    ``GET /priorities``; an account without priorities answers an empty list)."""

    account: str
    what: Literal["services", "priorities"]


class PdNamed(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str


class PdNamesReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_names_reply.v1"):
    items: tuple[PdNamed, ...] = ()
    error: str | None = None


# ---------------------------------------------------------------- reconciliation reads
# The ingest poller asks the writers what changed since a time, so its vendor calls share the
# writers' rate budget. Both answers are paged (a NATS reply has a size limit).


class PdChangesRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_changes.v1"):
    """The incidents of ``account`` with log entries in [``since``, ``until``) (ISO 8601), each
    with those entries, its notes of the window and its current facts; answered with a
    :class:`PdChangesReply` on ``reads.pd.<account>.changes``. ``offset`` skips that many
    incidents (ordered by their first change in the window)."""

    account: str
    since: str
    until: str
    offset: int = 0
    max_incidents: int = 25


class PdLogEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One log entry (``trigger_log_entry``, ``acknowledge_log_entry``, ...)."""

    id: str
    type: str
    created_at: str
    agent: PdAgent | None = None


class PdNoteChange(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    content: str
    created_at: str
    user: PdAgent | None = None


class PdIncidentChanges(msgspec.Struct, frozen=True, kw_only=True):
    """An incident as it is now, with what happened to it in the window (oldest first)."""

    incident_id: str
    title: str = ""
    html_url: str = ""
    created_at: str | None = None
    first_trigger_log_entry: str | None = None  # its id: the trigger (later ones: reopens)
    facts: IncidentFacts | None = None
    log_entries: tuple[PdLogEntry, ...] = ()
    notes: tuple[PdNoteChange, ...] = ()


class PdChangesReply(msgspec.Struct, frozen=True, kw_only=True, tag="reads.pd_changes_reply.v1"):
    incidents: tuple[PdIncidentChanges, ...] = ()
    next_offset: int | None = None  # ask again from here for the rest of the window
    error: str | None = None


class JiraChangesRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_changes.v1"):
    """Issues of ``projects`` (keys, ids or names; empty: every project) updated at or after
    ``since`` (ISO 8601), least recently updated first, with their changelog histories and
    comments made since then; answered with a :class:`JiraChangesReply` on
    ``reads.jira.<instance>.changes``, ``start_at`` paging through the search."""

    instance: str
    since: str
    projects: tuple[str, ...] = ()
    start_at: int = 0
    max_results: int = 25


class JiraHistory(msgspec.Struct, frozen=True, kw_only=True):
    """One changelog history (change group): its id, time, author and items."""

    id: str
    created: str
    author: FactsJiraUser | None = None
    items: tuple[FieldChange, ...] = ()


class JiraCommentChange(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    body: str
    created: str
    author: FactsJiraUser | None = None


class JiraIssueChanges(msgspec.Struct, frozen=True, kw_only=True):
    """An issue as it is now (``fields``), with its histories and comments since the asked
    time, oldest first."""

    id: str
    key: str
    fields: IssueFields
    histories: tuple[JiraHistory, ...] = ()
    comments: tuple[JiraCommentChange, ...] = ()


class JiraChangesReply(
    msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_changes_reply.v1"
):
    issues: tuple[JiraIssueChanges, ...] = ()
    next_start_at: int | None = None  # ask again from here for the rest of the search
    # The user the jira-writer acts as: changes by it are pdjira's own writes.
    myself: FactsJiraUser | None = None
    error: str | None = None
