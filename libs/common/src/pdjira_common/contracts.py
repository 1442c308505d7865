"""Message contracts shared by every service: one Struct per concept, versioned by tag.

Every message carries ``correlation_id`` (the id of the source event that started the chain),
so one id finds the whole trace across streams.
"""

from __future__ import annotations

from typing import Any, Literal, cast

import msgspec

__all__ = [
    "AddComment",
    "AddNote",
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
    "IncidentRef",
    "IncidentUpdated",
    "IssueEvent",
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
    "WriteSkipped",
    "decode_audit",
    "decode_command",
    "decode_event",
    "decode_outcome",
    "encode",
]

IncidentStatus = Literal["triggered", "acknowledged", "resolved"]


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


class IncidentEvent(msgspec.Struct, frozen=True, kw_only=True, tag="pd.incident.v1"):
    """A PagerDuty webhook v3 incident event, normalized."""

    event_id: str
    correlation_id: str
    account: str
    incident_id: str
    event_type: str  # PagerDuty's own name, e.g. "incident.triggered"
    occurred_at: str
    title: str
    html_url: str
    # None on events whose data is not the incident itself (``incident.annotated`` carries an
    # incident_note with only an incident reference): status, number, urgency and service are
    # unknown there, and a made-up value would be indistinguishable from a real one.
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
    agent_summary: str | None = None  # the agent's display name (who acted)
    # The webhook's incident object as PagerDuty sent it (``event.data`` of incident events:
    # assignees, escalation_policy, priority, teams, created_at...): rule conditions and field
    # templates read it. None on note events and from older publishers.
    data: dict[str, Any] | None = None

    @property
    def incident(self) -> IncidentRef:
        return IncidentRef(account=self.account, incident_id=self.incident_id)


class FieldChange(msgspec.Struct, frozen=True, kw_only=True):
    """One changelog item of a Jira webhook (Server: ``field`` is the id or display name)."""

    field: str
    from_value: str | None = None
    from_string: str | None = None
    to_value: str | None = None
    to_string: str | None = None


class IssueEvent(msgspec.Struct, frozen=True, kw_only=True, tag="jira.issue.v1"):
    """A Jira Server/DC issue webhook, normalized."""

    event_id: str
    correlation_id: str
    instance: str
    issue_id: str
    key: str
    webhook_event: str  # e.g. "jira:issue_updated"
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
    # The webhook's ``issue.fields`` as Jira sent it (custom fields, components, reporter,
    # description...): JQL is evaluated against it. None from older publishers.
    fields: dict[str, Any] | None = None

    @property
    def issue(self) -> IssueRef:
        return IssueRef(instance=self.instance, issue_id=self.issue_id, key=self.key)

    def changed(self, field: str) -> FieldChange | None:
        """The change of ``field`` in this event, if any."""
        return next((c for c in self.changes if c.field == field), None)


Event = IncidentEvent | IssueEvent

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
    # applied to this entity is skipped (None, from older publishers: always applied).
    caused_at: str | None = None


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


class AddNote(msgspec.Struct, frozen=True, kw_only=True, tag="pd.add_note.v1"):
    """Mirror Jira comment ``comment_id`` as a note on the linked incident (once per comment)."""

    command_id: str
    correlation_id: str
    incident: IncidentRef
    issue: IssueRef
    comment_id: str
    body: str
    author_jira_user_key: str | None = None  # `From` = the mapped PagerDuty user, or fallback


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

_event_decoder = msgspec.json.Decoder(Event)
_command_decoder = msgspec.json.Decoder(Command)
_outcome_decoder = msgspec.json.Decoder(Outcome)
_audit_decoder = msgspec.json.Decoder(AuditRecord)
_encoder = msgspec.json.Encoder()


def encode(message: msgspec.Struct) -> bytes:
    """JSON bytes of any contract."""
    return _encoder.encode(message)


def decode_event(data: bytes) -> Event:
    return cast(Event, _event_decoder.decode(data))


def decode_command(data: bytes) -> Command:
    return cast(Command, _command_decoder.decode(data))


def decode_outcome(data: bytes) -> Outcome:
    return cast(Outcome, _outcome_decoder.decode(data))


def decode_audit(data: bytes) -> AuditRecord:
    return _audit_decoder.decode(data)
