"""Message contracts shared by every service: one Struct per concept, versioned by tag.

Every message carries ``correlation_id`` (the id of the source event that started the chain),
so one id finds the whole trace across streams.
"""

from __future__ import annotations

from typing import Any, Final, cast

import msgspec

from pdjira_common.facts import (
    IncidentFacts,
    IncidentStatus,
    IssueFields,
    JiraComment,
    JiraRef,
    JiraUser,
    PdAgent,
    PdNote,
    PdRef,
    read_incident,
    read_issue_fields,
)

__all__ = [
    "AddComment",
    "AddNote",
    "AnyEvent",
    "AuditRecord",
    "Command",
    "CommandFailed",
    "CommentAdded",
    "CreateIncident",
    "CreateIssue",
    "DeadLetter",
    "Event",
    "FieldChange",
    "FieldsUpdated",
    "IncidentEvent",
    "IncidentEventV1",
    "IncidentRef",
    "IncidentStatus",
    "IncidentUpdated",
    "IssueEvent",
    "IssueEventV1",
    "IssueLinked",
    "IssueRef",
    "IssueTransitioned",
    "Link",
    "LinkQuery",
    "LinkReply",
    "NoteAdded",
    "Outcome",
    "RuleVerdict",
    "TransitionIssue",
    "UpdateIncident",
    "UpdateIncidentFields",
    "UpdateIssueFields",
    "VendorCall",
    "WriteRecord",
    "WriteSkipped",
    "decode_audit",
    "decode_command",
    "decode_event",
    "decode_outcome",
    "decode_trail",
    "encode",
    "upgrade_event",
]


class IncidentRef(msgspec.Struct, frozen=True, kw_only=True):
    """A PagerDuty incident in one configured account."""

    account: str
    incident_id: str


class IssueRef(msgspec.Struct, frozen=True, kw_only=True):
    """A Jira issue in one configured instance. ``issue_id`` is stable; ``key`` can change."""

    instance: str
    issue_id: str
    key: str


# ---------------------------------------------------------------- events (stream EVENTS)
# v2: typed facts (pdjira_common.facts) instead of the webhook's raw ``data`` / ``fields``.
# v1 events (pdjira before v2) may still be in the stream after an upgrade, or come from an
# ingest replica not yet upgraded: decode_event reads them and upgrades them (upgrade_event).

_ANNOTATED: Final = "incident.annotated"
_COMMENTED: Final = "issue_commented"
_COMMENT_CHANGED: Final = frozenset({"issue_comment_edited", "issue_comment_deleted"})


class IncidentEvent(msgspec.Struct, frozen=True, kw_only=True, tag="pd.incident.v2"):
    """A PagerDuty webhook v3 incident event, normalized."""

    event_id: str
    correlation_id: str
    account: str
    incident_id: str
    event_type: str  # PagerDuty's own name, e.g. "incident.triggered"
    occurred_at: str
    title: str
    html_url: str
    agent: PdAgent | None = None  # who acted
    # The incident as the event describes it. None on events whose data is not the incident
    # (``incident.annotated`` carries a note with only an incident reference): its status,
    # service... are unknown there, and a made-up value would pass for a real one.
    facts: IncidentFacts | None = None
    note: PdNote | None = None  # the note an ``incident.annotated`` event adds
    # "webhook", or "reconcile": made by the reconciliation poller for a change whose webhook
    # never came (same shape; the audit trail and the chaos report tell them apart).
    origin: str = "webhook"

    @property
    def incident(self) -> IncidentRef:
        return IncidentRef(account=self.account, incident_id=self.incident_id)

    @property
    def status(self) -> IncidentStatus | None:
        return self.facts.status if self.facts is not None else None

    @property
    def is_note(self) -> bool:
        """A new note (``incident.annotated`` with the note in it)."""
        return self.event_type == _ANNOTATED and self.note is not None


class FieldChange(msgspec.Struct, frozen=True, kw_only=True):
    """One changelog item of a Jira webhook (Server: ``field`` is the id or display name)."""

    field: str
    from_value: str | None = None
    from_string: str | None = None
    to_value: str | None = None
    to_string: str | None = None


class IssueEvent(msgspec.Struct, frozen=True, kw_only=True, tag="jira.issue.v2"):
    """A Jira Server/DC issue webhook, normalized."""

    event_id: str
    correlation_id: str
    instance: str
    issue_id: str
    key: str
    webhook_event: str  # e.g. "jira:issue_updated"
    issue_event_type: str | None
    timestamp_ms: int
    fields: IssueFields  # the issue (JQL is evaluated against it)
    user: JiraUser | None = None  # who acted
    changes: tuple[FieldChange, ...] = ()
    comment: JiraComment | None = None
    origin: str = "webhook"  # or "reconcile" (see IncidentEvent.origin)

    @property
    def issue(self) -> IssueRef:
        return IssueRef(instance=self.instance, issue_id=self.issue_id, key=self.key)

    @property
    def project_key(self) -> str:
        return self.fields.project.key or ""

    @property
    def issue_type(self) -> str:
        return self.fields.issue_type.name or ""

    @property
    def status(self) -> str:
        return self.fields.status.name or ""

    @property
    def summary(self) -> str:
        summary = self.fields.summary
        return summary if isinstance(summary, str) else ""

    @property
    def user_key(self) -> str | None:
        return self.user.key if self.user is not None else None

    @property
    def is_comment(self) -> bool:
        """A new comment: ``issue_commented``, or a transition/edit that carried one (Jira
        Server sends one event with both the changelog and the comment). Edits and deletions
        of comments are not synced."""
        if self.comment is None:
            return False
        return self.issue_event_type == _COMMENTED or (
            self.issue_event_type not in _COMMENT_CHANGED and bool(self.changes)
        )

    def changed(self, field: str) -> FieldChange | None:
        """The change of ``field`` in this event, if any."""
        return next((c for c in self.changes if c.field == field), None)


Event = IncidentEvent | IssueEvent

# ---------------------------------------------------------------- events, version 1 (legacy)


class IncidentEventV1(msgspec.Struct, frozen=True, kw_only=True, tag="pd.incident.v1"):
    """An incident event as pdjira before v2 published it: flat fields and the webhook's raw
    ``data`` (None on note events and from the oldest publishers)."""

    event_id: str
    correlation_id: str
    account: str
    incident_id: str
    event_type: str
    occurred_at: str
    title: str
    html_url: str
    status: IncidentStatus | None = None
    number: int | None = None
    urgency: str | None = None
    service_id: str | None = None
    service_name: str | None = None
    priority: str | None = None
    agent_id: str | None = None
    agent_type: str | None = None
    note_id: str | None = None
    note_content: str | None = None
    agent_summary: str | None = None
    data: dict[str, Any] | None = None


class IssueEventV1(msgspec.Struct, frozen=True, kw_only=True, tag="jira.issue.v1"):
    """An issue event as pdjira before v2 published it: flat fields and the webhook's raw
    ``issue.fields`` (None from the oldest publishers)."""

    event_id: str
    correlation_id: str
    instance: str
    issue_id: str
    key: str
    webhook_event: str
    issue_event_type: str | None
    timestamp_ms: int
    project_key: str
    issue_type: str
    status: str
    status_category: str | None
    summary: str
    priority: str | None = None
    labels: tuple[str, ...] = ()
    user_name: str | None = None
    user_key: str | None = None
    changes: tuple[FieldChange, ...] = ()
    comment_id: str | None = None
    comment_body: str | None = None
    fields: dict[str, Any] | None = None


AnyEvent = Event | IncidentEventV1 | IssueEventV1  # what may be in stream EVENTS


def upgrade_event(event: AnyEvent) -> Event:
    """The current version of any event: a v1 event's raw ``data`` / ``fields`` are read as
    ingest reads a webhook now; what only the flat v1 fields say fills in the rest."""
    if isinstance(event, IncidentEventV1):
        return _upgrade_incident(event)
    if isinstance(event, IssueEventV1):
        return _upgrade_issue(event)
    return event


def _upgrade_incident(old: IncidentEventV1) -> IncidentEvent:
    facts = read_incident(old.data, status=old.status) if old.status is not None else None
    if facts is not None:
        service = facts.service or _pd_ref(old.service_id, old.service_name)
        priority = facts.priority or _pd_ref(None, old.priority)
        facts = msgspec.structs.replace(
            facts,
            number=facts.number if facts.number is not None else old.number,
            urgency=facts.urgency or old.urgency,
            service=service,
            priority=priority,
        )
    agent = None
    if old.agent_id or old.agent_type or old.agent_summary:
        agent = PdAgent(id=old.agent_id, type=old.agent_type, summary=old.agent_summary)
    note = None
    if old.note_id is not None and old.note_content is not None:
        note = PdNote(id=old.note_id, content=old.note_content)
    return IncidentEvent(
        event_id=old.event_id,
        correlation_id=old.correlation_id,
        account=old.account,
        incident_id=old.incident_id,
        event_type=old.event_type,
        occurred_at=old.occurred_at,
        title=old.title,
        html_url=old.html_url,
        agent=agent,
        facts=facts,
        note=note,
    )


def _pd_ref(ref_id: str | None, summary: str | None) -> PdRef | None:
    return PdRef(id=ref_id, summary=summary) if ref_id or summary else None


def _upgrade_issue(old: IssueEventV1) -> IssueEvent:
    if old.fields is not None:
        fields = read_issue_fields(old.fields)
    else:  # the oldest publishers: only what the flat fields say (JQL asks Jira the rest)
        fields = IssueFields(
            summary=old.summary,
            labels=old.labels,
            priority=JiraRef(name=old.priority) if old.priority else None,
        )
    category = fields.status_category
    fields = msgspec.structs.replace(
        fields,
        project=msgspec.structs.replace(fields.project, key=fields.project.key or old.project_key),
        issue_type=msgspec.structs.replace(
            fields.issue_type, name=fields.issue_type.name or old.issue_type
        ),
        status=msgspec.structs.replace(fields.status, name=fields.status.name or old.status),
        status_category=(
            JiraRef(key=old.status_category)
            if not isinstance(category, JiraRef) and old.status_category
            else category
        ),
    )
    user = None
    if old.user_name or old.user_key:
        user = JiraUser(name=old.user_name, key=old.user_key)
    comment = None
    if old.comment_id is not None and old.comment_body is not None:
        comment = JiraComment(id=old.comment_id, body=old.comment_body)
    return IssueEvent(
        event_id=old.event_id,
        correlation_id=old.correlation_id,
        instance=old.instance,
        issue_id=old.issue_id,
        key=old.key,
        webhook_event=old.webhook_event,
        issue_event_type=old.issue_event_type,
        timestamp_ms=old.timestamp_ms,
        fields=fields,
        user=user,
        changes=old.changes,
        comment=comment,
    )


# ---------------------------------------------------------------- commands (stream COMMANDS)


class CreateIssue(msgspec.Struct, frozen=True, kw_only=True, tag="jira.create_issue.v1"):
    """Create the one Jira issue for an incident (idempotent: keyed by the incident)."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    instance: str
    project: str
    issue_type: str
    summary: str
    description: str
    labels: tuple[str, ...] = ()
    priority: str | None = None  # Jira priority name
    # PagerDuty user to assign; jira-writer maps them to a Jira user (unmapped: left unassigned).
    assignee_pd_user_id: str | None = None
    # Any other field, as Jira's REST body wants it ("customfield_10001": "text" or {"value": ..}).
    fields: dict[str, Any] = {}


class UpdateIssueFields(msgspec.Struct, frozen=True, kw_only=True, tag="jira.update_issue.v1"):
    """Set fields of the issue linked to ``incident`` (convergent: unchanged fields are not
    written). ``None`` / empty: leave that field alone."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    instance: str
    priority: str | None = None  # Jira priority name
    assignee_pd_user_id: str | None = None  # mapped to a Jira user by jira-writer
    labels: tuple[str, ...] | None = None  # the labels to set (replaces the issue's labels)
    append_description: str | None = None  # appended once (not again if already at the end)
    fields: dict[str, Any] = {}
    caused_at: str | None = None  # ISO time of the source event, as in TransitionIssue


class TransitionIssue(msgspec.Struct, frozen=True, kw_only=True, tag="jira.transition_issue.v1"):
    """Move the issue linked to ``incident`` to the status named ``target_status``."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    instance: str
    target_status: str
    resolution: str | None = None
    # ISO time of the source event: a status write caused earlier than the last one the writer
    # applied to this entity, or than the issue's latest change by a person, is skipped (None,
    # from older publishers: always applied).
    caused_at: str | None = None
    # The rule explicitly reopens (the cause is an ``incident.reopened``): only then may the
    # issue leave a Done-category status, and only if the cause is newer than its last change.
    reopen: bool = False


class UpdateIncident(msgspec.Struct, frozen=True, kw_only=True, tag="pd.update_incident.v1"):
    """Change a PagerDuty incident's status (convergent: skipped when already there)."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    status: IncidentStatus
    cause: IssueRef | None = None
    actor_user_key: str | None = None
    caused_at: str | None = None  # ISO time of the source event, as in TransitionIssue


class AddComment(msgspec.Struct, frozen=True, kw_only=True, tag="jira.add_comment.v1"):
    """Mirror PagerDuty note ``note_id`` as a comment on the linked issue (once per note)."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    instance: str
    note_id: str
    body: str
    author_pd_user_id: str | None = None  # attributed through the user mapping
    author_name: str | None = None  # the PagerDuty author's name as the event shows it


class AddNote(msgspec.Struct, frozen=True, kw_only=True, tag="pd.add_note.v1"):
    """Mirror Jira comment ``comment_id`` as a note on the linked incident (once per comment)."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    issue: IssueRef
    comment_id: str
    body: str
    author_jira_user_key: str | None = None  # `From` = the mapped PagerDuty user, or fallback
    author_jira_user_name: str | None = None  # the author's login (finds them by search)
    author_display_name: str | None = None  # how the note names them when not written as them


class CreateIncident(msgspec.Struct, frozen=True, kw_only=True, tag="pd.create_incident.v1"):
    """Create the one PagerDuty incident for ``issue`` (idempotent: incident_key = issue key)."""

    command_id: str
    correlation_id: str
    account: str
    service_id: str
    title: str
    body: str
    issue: IssueRef
    urgency: str | None = None  # None: the service's default
    priority: str | None = None  # PagerDuty priority id or name, set after the create
    add_responders: tuple[str, ...] = ()  # PagerDuty user ids, requested after the create
    # The status the incident takes right after the create (e.g. "resolved": the issue was
    # already in a status a rule resolves on, before the incident existed).
    then_status: IncidentStatus | None = None
    caused_at: str | None = None  # ISO time of the source event


class UpdateIncidentFields(
    msgspec.Struct, frozen=True, kw_only=True, tag="pd.update_incident_fields.v1"
):
    """Set the priority of / add responders to a PagerDuty incident (convergent)."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    priority: str | None = None  # PagerDuty priority id or name (e.g. "P1")
    urgency: str | None = None  # "high" / "low"
    add_responders: tuple[str, ...] = ()  # PagerDuty user ids
    cause: IssueRef | None = None
    actor_user_key: str | None = None  # Jira user whose change caused it (`From`)
    caused_at: str | None = None


Command = (
    CreateIssue
    | TransitionIssue
    | UpdateIssueFields
    | UpdateIncident
    | UpdateIncidentFields
    | AddComment
    | AddNote
    | CreateIncident
)

# ---------------------------------------------------------------- outcomes (stream OUTCOMES)


class IssueLinked(msgspec.Struct, frozen=True, kw_only=True, tag="outcome.issue_linked.v1"):
    """``incident`` and ``issue`` belong together: the issue for an incident, or the incident for
    an issue, exists (just created, or found by the idempotency search)."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    issue: IssueRef
    created: bool


class IssueTransitioned(
    msgspec.Struct, frozen=True, kw_only=True, tag="outcome.issue_transitioned.v1"
):
    command_id: str
    correlation_id: str
    incident: IncidentRef
    issue: IssueRef
    from_status: str
    to_status: str
    path: tuple[str, ...]


class IncidentUpdated(msgspec.Struct, frozen=True, kw_only=True, tag="outcome.incident_updated.v1"):
    command_id: str
    correlation_id: str
    incident: IncidentRef
    from_status: str
    to_status: str


class WriteSkipped(msgspec.Struct, frozen=True, kw_only=True, tag="outcome.write_skipped.v1"):
    """A command that needed no write (target already in the wanted state)."""

    command_id: str
    correlation_id: str
    reason: str


class CommandFailed(msgspec.Struct, frozen=True, kw_only=True, tag="outcome.command_failed.v1"):
    """A command that will not be applied; ``reason`` carries the vendor's own error text."""

    command_id: str
    correlation_id: str
    reason: str
    permanent: bool
    status_code: int | None = None


class CommentAdded(msgspec.Struct, frozen=True, kw_only=True, tag="outcome.comment_added.v1"):
    """Note ``note_id`` now has comment ``comment_id`` (mapping records the pair)."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    issue: IssueRef
    note_id: str
    comment_id: str


class NoteAdded(msgspec.Struct, frozen=True, kw_only=True, tag="outcome.note_added.v1"):
    """Comment ``comment_id`` now has note ``note_id`` (mapping records the pair)."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    issue: IssueRef
    comment_id: str
    note_id: str


class FieldsUpdated(msgspec.Struct, frozen=True, kw_only=True, tag="outcome.fields_updated.v1"):
    """Fields written by UpdateIssueFields / UpdateIncidentFields (``target``: "jira:<inst>:<id>"
    or "pd:<account>:<id>"); ``fields`` names what changed, ``left_alone`` what was asked for
    but not written and why (e.g. an assignee with no Jira user mapped)."""

    command_id: str
    correlation_id: str
    target: str
    fields: tuple[str, ...]
    left_alone: tuple[str, ...] = ()


Outcome = (
    IssueLinked
    | IssueTransitioned
    | IncidentUpdated
    | WriteSkipped
    | CommandFailed
    | CommentAdded
    | NoteAdded
    | FieldsUpdated
)

# ---------------------------------------------------------------- mapping (request/reply)


class Link(msgspec.Struct, frozen=True, kw_only=True):
    """incident <-> issue, one to one, keyed by account/instance ids (not URLs)."""

    incident: IncidentRef
    issue: IssueRef
    created_at: str


class LinkQuery(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.link_query.v1"):
    """Find the link of an incident or of an issue: give exactly one of the two."""

    incident: IncidentRef | None = None
    instance: str | None = None
    issue_id: str | None = None


class LinkReply(msgspec.Struct, frozen=True, kw_only=True, tag="mapping.link_reply.v1"):
    link: Link | None = None


# ---------------------------------------------------------------- audit trail (stream AUDIT)


class RuleVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """One rule considered for one event: matched, or skipped and why (in words for people)."""

    rule: str
    matched: bool
    reason: str
    # The configuration item of a PagerDuty-style rule, e.g. "autocreate_issues_config[0]"
    # (None: the rule as a whole); ``reason`` then spells out each condition checked.
    item: str | None = None


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True, tag="audit.record.v1"):
    """What a service decided about one message: every rule considered and the commands sent."""

    correlation_id: str
    service: str
    event_id: str
    event_type: str
    entity: str  # what the event is about, e.g. "pd:acme:PGR0VU2" or "jira:dc1:10100"
    summary: str
    recorded_at: str
    verdicts: tuple[RuleVerdict, ...] = ()
    command_ids: tuple[str, ...] = ()


class VendorCall(msgspec.Struct, frozen=True, kw_only=True):
    """One HTTP request a writer sent for a command: the path with its ids, never the query
    (JQL, tokens); ``status`` None when no answer came (``error`` says why)."""

    method: str
    path: str
    status: int | None
    latency_ms: float
    at: str  # ISO time the request was sent
    error: str | None = None


class WriteRecord(msgspec.Struct, frozen=True, kw_only=True, tag="audit.write.v1"):
    """What a writer did with one attempt at a command: every vendor call and the outcome.

    ``outcome``: "done", "skipped", "failed" (for good: dead-lettered with the reason),
    "retry" (tried again after ``delay`` s, or the retry policy's backoff when None) or
    "waiting" (a prerequisite, e.g. the issue, is not there yet); ``detail`` says what (the
    outcome and its facts, or the reason)."""

    correlation_id: str
    service: str  # "jira-writer", "pd-writer"
    command_id: str
    command: str  # the command's kind, e.g. "CreateIssue"
    target: str  # "jira:<instance>" or "pd:<account>"
    entity: str  # what the command is about, e.g. "pd:acme:PGR0VU2"
    attempt: int
    started_at: str
    recorded_at: str
    outcome: str
    detail: str
    calls: tuple[VendorCall, ...] = ()
    delay: float | None = None


# ---------------------------------------------------------------- dead letters (stream DLQ)


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True, tag="dlq.dead_letter.v1"):
    """A message that exhausted its retries: the original, where it came from and why."""

    stream: str
    consumer: str
    subject: str
    reason: str
    attempts: int
    correlation_id: str | None
    failed_at: str
    data: bytes
    headers: dict[str, str] = {}


# ---------------------------------------------------------------- codecs

_event_decoder = msgspec.json.Decoder(AnyEvent)
_command_decoder = msgspec.json.Decoder(Command)
_outcome_decoder = msgspec.json.Decoder(Outcome)
_audit_decoder = msgspec.json.Decoder(AuditRecord)
_encoder = msgspec.json.Encoder()


def encode(message: msgspec.Struct) -> bytes:
    """JSON bytes of any contract."""
    return _encoder.encode(message)


def decode_event(data: bytes) -> Event:
    """An event of any version, upgraded to the current one."""
    return upgrade_event(cast(AnyEvent, _event_decoder.decode(data)))


def decode_command(data: bytes) -> Command:
    return cast(Command, _command_decoder.decode(data))


def decode_outcome(data: bytes) -> Outcome:
    return cast(Outcome, _outcome_decoder.decode(data))


def decode_audit(data: bytes) -> AuditRecord:
    return _audit_decoder.decode(data)


_trail_decoder = msgspec.json.Decoder(AuditRecord | WriteRecord)


def decode_trail(data: bytes) -> AuditRecord | WriteRecord:
    """Any record of stream AUDIT: a decision (rules) or a write (the writers)."""
    return cast(AuditRecord | WriteRecord, _trail_decoder.decode(data))
