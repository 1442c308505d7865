"""Vendor webhook JSON -> our event contracts (pure; no I/O).

Strict on what identifies and orders an event (ids, status, timestamps): a webhook without them is
answered 400 naming the field. Lenient on descriptive fields (urgency, URLs, names): a missing one
must not cost us the event, because a 4xx is never retried by PagerDuty.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast, get_args

from pdjira_common.contracts import FieldChange, IncidentEvent, IncidentStatus, IssueEvent
from pdjira_common.facts import (
    JiraComment,
    PdNote,
    read_agent,
    read_incident,
    read_issue_fields,
    read_jira_user,
)

from pdjira_ingest.fields import Fields, WebhookRejected
from pdjira_ingest.stable_ids import (
    bounded,
    jira_comment_id,
    jira_created_id,
    jira_history_id,
    pd_note_id,
)

__all__ = [
    "JIRA_SYNCED_EVENTS",
    "Ignored",
    "WebhookRejected",
    "jira_event_id",
    "normalize_jira",
    "normalize_pagerduty",
    "pagerduty_msg_id",
]

JIRA_SYNCED_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated"})
_STATUSES: tuple[str, ...] = get_args(IncidentStatus)
_COMMENTED = "issue_commented"
MAX_USER_LENGTH = 255  # Jira's own limit on user names

_PD_HINT = (
    'A PagerDuty v3 webhook looks like {"event": {"id", "event_type", "occurred_at", "data"}}; '
    "check that the subscription is a v3 webhook subscription pointing at this URL."
)
_JIRA_HINT = (
    'A Jira issue webhook looks like {"webhookEvent", "timestamp", "issue": {"id", "key", '
    '"fields"}}; check the webhook in Jira (Administration > System > WebHooks) and that '
    '"Exclude body" is off.'
)


@dataclass(frozen=True, kw_only=True)
class Ignored:
    """A well-formed webhook that carries nothing we sync; answered 202 and not published."""

    event_type: str
    reason: str


def pagerduty_msg_id(account: str, event_id: str) -> str:
    """``Nats-Msg-Id`` of a PagerDuty event without a change id of its own (see stable_ids):
    ``event.id`` is stable across PagerDuty's retries."""
    return bounded(f"pd:{account}:{event_id}")


def jira_event_id(instance: str, raw_body: bytes) -> str:
    """Jira DC webhooks carry no event id: identical redeliveries share the body's hash (the
    id of a webhook whose change has no stable id of its own)."""
    return f"jira:{instance}:{hashlib.sha256(raw_body).hexdigest()}"


# ------------------------------------------------------------------------------ PagerDuty


def normalize_pagerduty(account: str, payload: Any) -> IncidentEvent | Ignored:
    """A decoded PagerDuty v3 webhook body -> IncidentEvent, or Ignored for other event types."""
    if isinstance(payload, dict) and "messages" in payload and "event" not in payload:
        raise WebhookRejected(
            400,
            "unsupported_webhook_version",
            "this is a PagerDuty v2 webhook (it has `messages`); pdjira needs a v3 webhook "
            "subscription (Integrations > Generic Webhooks (v3)).",
        )
    root = Fields.root(payload, what="PagerDuty v3 webhook", hint=_PD_HINT)
    event = root.obj("event")
    event_type = event.text("event_type")
    if not event_type.startswith("incident."):
        return Ignored(
            event_type=event_type,
            reason=f"event type {event_type!r} is not an incident event; nothing to sync",
        )
    webhook_id = pagerduty_msg_id(account, event.token("id"))
    occurred_at = event.iso_time("occurred_at")
    data = event.obj("data")
    data_type = data.text("type")
    agent = event.opt_obj("agent")
    if agent is not None:
        agent.opt_token("id")  # a PagerDuty user id keys the user mapping
    common: dict[str, Any] = {
        "event_id": webhook_id,
        "correlation_id": webhook_id,
        "account": account,
        "event_type": event_type,
        "occurred_at": occurred_at,
        "agent": read_agent(agent.raw()) if agent else None,
    }
    if data_type == "incident":
        return _incident_event(data, common)
    if event_type == "incident.annotated" and data_type == "incident_note":
        return _note_event(data, common)
    return Ignored(
        event_type=event_type,
        reason=f"event type {event_type!r} (data type {data_type!r}) is not synced",
    )


def _incident_event(data: Fields, common: dict[str, Any]) -> IncidentEvent:
    status = data.text("status")
    if status not in _STATUSES:
        raise WebhookRejected(
            400,
            "invalid_payload",
            f"field `event.data.status` is {status!r}, not one of {list(_STATUSES)}. {_PD_HINT}",
        )
    # What identifies the incident is checked here; the rest is read leniently.
    data.obj("service").token("id")
    data.count("number")
    # A status webhook keeps its own id: no id of the change is shared with its log entry.
    return IncidentEvent(
        incident_id=data.token("id"),
        title=data.text("title"),
        html_url=data.opt_text("html_url") or "",
        facts=read_incident(data.raw(), status=cast(IncidentStatus, status)),
        **common,
    )


def _with_id(common: dict[str, Any], change_id: str) -> dict[str, Any]:
    """The change's stable id as event and correlation id."""
    return {**common, "event_id": change_id, "correlation_id": change_id}


def _note_event(data: Fields, common: dict[str, Any]) -> IncidentEvent:
    # An incident_note has only a reference to its incident: status, number and service stay
    # None rather than guessed; the reference's summary is the best title we have.
    incident = data.obj("incident")
    incident_id, note_id = incident.token("id"), data.token("id")
    return IncidentEvent(
        incident_id=incident_id,
        title=incident.opt_text("summary") or "",
        html_url=incident.opt_text("html_url") or "",
        note=PdNote(id=note_id, content=data.opt_text("content") or ""),
        **_with_id(common, pd_note_id(common["account"], incident_id, note_id)),
    )


# ------------------------------------------------------------------------------ Jira


def normalize_jira(instance: str, payload: Any, *, event_id: str) -> IssueEvent | Ignored:
    """A decoded Jira Server/DC webhook body -> IssueEvent, or Ignored for other events.

    The event id is the change's stable id (see stable_ids) when it has one, else ``event_id``
    (the body's hash: identical redeliveries share it)."""
    root = Fields.root(payload, what="Jira webhook", hint=_JIRA_HINT)
    webhook_event = root.text("webhookEvent")
    if webhook_event not in JIRA_SYNCED_EVENTS:
        return Ignored(
            event_type=webhook_event,
            reason=f"webhookEvent {webhook_event!r} is not synced "
            f"(synced: {sorted(JIRA_SYNCED_EVENTS)})",
        )
    issue = root.obj("issue")
    fields = issue.obj("fields")
    # What the rules scope by is checked here (400 naming the field); the rest is read
    # leniently into typed facts.
    fields.obj("project").text("key")
    fields.obj("issuetype").text("name")
    fields.obj("status").text("name")
    fields.array("labels")
    user = root.opt_obj("user")
    comment = root.opt_obj("comment")
    changelog = root.opt_obj("changelog")
    comment_id = comment.opt_token("id") if comment else None
    comment_body = comment.opt_text("body") if comment else None
    issue_id = issue.token("id")
    key = issue.token("key")
    timestamp_ms = root.epoch_ms("timestamp")
    if user is not None:
        _check_jira_user(user)
    event_type = root.opt_text("issue_event_type_name")
    change_id = _jira_change_id(
        instance,
        issue_id,
        webhook_event,
        event_type,
        changelog.opt_token("id") if changelog else None,
        comment_id,
    )
    return IssueEvent(
        event_id=change_id or event_id,
        correlation_id=change_id or event_id,
        instance=instance,
        issue_id=issue_id,
        key=key,
        webhook_event=webhook_event,
        issue_event_type=event_type,
        timestamp_ms=timestamp_ms,
        fields=read_issue_fields(fields.raw()),
        user=read_jira_user(user.raw()) if user else None,
        changes=_changes(changelog) if changelog else (),
        comment=(
            JiraComment(id=comment_id, body=comment_body)
            if comment_id is not None and comment_body is not None
            else None
        ),
    )


def _check_jira_user(user: Fields) -> None:
    """A Jira user's key and name key the user mapping: bounded (any characters: Jira allows
    `.`, `@`... in user names; the mapping makes them safe key parts)."""
    for part in ("key", "name"):
        value = user.opt_text(part)
        if value is not None and len(value) > MAX_USER_LENGTH:
            raise WebhookRejected(
                400,
                "invalid_field",
                f"field `user.{part}` is {len(value)} characters long; a Jira user {part} has "
                f"at most {MAX_USER_LENGTH}. {_JIRA_HINT}",
            )


def _jira_change_id(
    instance: str,
    issue_id: str,
    webhook_event: str,
    event_type: str | None,
    changelog_id: str | None,
    comment_id: str | None,
) -> str | None:
    """The stable id of what the webhook reports: a create, a change group, a new comment."""
    if webhook_event == "jira:issue_created":
        return jira_created_id(instance, issue_id)
    if changelog_id is not None:
        return jira_history_id(instance, issue_id, changelog_id)
    if event_type == _COMMENTED and comment_id is not None:
        return jira_comment_id(instance, issue_id, comment_id)
    return None


def _changes(changelog: Fields) -> tuple[FieldChange, ...]:
    # Server changelog items have no fieldId: `field` is the system id or a custom field's
    # display name; `from`/`to` are ids or keys, `fromString`/`toString` display values.
    return tuple(
        FieldChange(
            field=item.text("field"),
            from_value=item.scalar("from"),
            from_string=item.scalar("fromString"),
            to_value=item.scalar("to"),
            to_string=item.scalar("toString"),
        )
        for item in changelog.objects("items")
    )
