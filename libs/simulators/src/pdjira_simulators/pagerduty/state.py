"""In-memory PagerDuty account: incidents, notes, users, subscriptions. No I/O.

Every mutation returns the webhook events it causes; the app renders and sends them. Keeping
this module free of HTTP makes the status rules unit-testable and reusable by the admin
endpoints ("a person in the PagerDuty UI") and the REST API alike.
"""

from __future__ import annotations

import enum
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pdjira_simulators.pagerduty.errors import PdError, invalid_input, not_found

__all__ = [
    "DEFAULT_ROUTING_KEY",
    "INCIDENT_EVENT_TYPES",
    "STATUSES",
    "UNSET",
    "Acknowledgement",
    "Assignment",
    "EscalationPolicy",
    "Incident",
    "IncidentEvent",
    "Integration",
    "LogEntry",
    "Note",
    "PagerDutyState",
    "Priority",
    "Responder",
    "ResponderRequest",
    "ResponderTarget",
    "Service",
    "StatusUpdate",
    "Subscription",
    "Unset",
    "User",
]

STATUSES = ("triggered", "acknowledged", "resolved")
URGENCIES = ("high", "low")
INCIDENT_EVENT_TYPES = (
    "incident.acknowledged",
    "incident.annotated",
    "incident.delegated",
    "incident.escalated",
    "incident.priority_updated",
    "incident.reassigned",
    "incident.reopened",
    "incident.resolved",
    "incident.responder.added",
    "incident.responder.replied",
    "incident.status_update_published",
    "incident.triggered",
    "incident.unacknowledged",
)
# The seeded service's Events API v2 integration key (32 characters, like a real one).
DEFAULT_ROUTING_KEY = "R0UT1NGKEYCHECKOUTAP10000000001A"
MAX_NOTES = 2000  # "A maximum of 2000 notes can be added to an incident."


class Unset(enum.Enum):
    """Marks "field not in the request" where None means "clear it"."""

    UNSET = 0


UNSET = Unset.UNSET


@dataclass(slots=True)
class User:
    id: str
    name: str
    email: str
    role: str = "user"
    time_zone: str = "Etc/UTC"
    color: str = "purple"
    job_title: str = ""


@dataclass(slots=True)
class EscalationPolicy:
    id: str
    name: str
    on_call_user_id: str


@dataclass(slots=True)
class Service:
    id: str
    name: str
    escalation_policy_id: str
    description: str = ""
    default_urgency: str = "high"


@dataclass(slots=True)
class Integration:
    """An Events API v2 integration on a service; `routing_key` authenticates events."""

    id: str
    name: str
    service_id: str
    routing_key: str


@dataclass(slots=True)
class Priority:
    id: str
    name: str
    description: str
    order: int


@dataclass(slots=True)
class Assignment:
    user_id: str
    at: datetime


@dataclass(slots=True)
class Acknowledgement:
    user_id: str
    at: datetime


@dataclass(slots=True)
class Incident:
    id: str
    number: int
    title: str
    service_id: str
    escalation_policy_id: str
    urgency: str
    status: str
    incident_key: str
    priority_id: str | None
    created_at: datetime
    updated_at: datetime
    last_status_change_at: datetime
    last_status_change_by: str | None
    assigned_via: str = "escalation_policy"
    assignments: list[Assignment] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    resolved_at: datetime | None = None
    reopened_at: datetime | None = None
    body_details: str | None = None
    conference_bridge: dict[str, str] | None = None


@dataclass(slots=True)
class Note:
    id: str
    incident_id: str
    user_id: str
    content: str
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class Subscription:
    """A v3 webhook subscription; `secrets` holds more than one during rotation."""

    id: str
    url: str
    secrets: list[str]
    events: tuple[str, ...]
    filter_type: str = "account_reference"
    filter_id: str | None = None
    active: bool = True
    description: str = ""
    custom_headers: list[tuple[str, str]] = field(default_factory=list)
    delivery_method_id: str = ""
    temporarily_disabled: bool = False
    consecutive_drops: int = 0


@dataclass(slots=True)
class Responder:
    """A responder request to one user; `state` pending -> joined | declined (REST names).
    `escalation_policy_id` is set when the user was requested through a policy target."""

    incident_id: str
    user_id: str
    requester_id: str
    message: str
    state: str
    requested_at: datetime
    updated_at: datetime
    request_id: str = ""
    escalation_policy_id: str | None = None


@dataclass(frozen=True, slots=True)
class ResponderTarget:
    """One target of a responder request: a user, or an escalation policy (whose on-call user
    is the one asked)."""

    type: str  # "user" | "escalation_policy"
    id: str


@dataclass(slots=True)
class ResponderRequest:
    """`POST /incidents/{id}/responder_requests`, kept for the incident's `responder_requests`."""

    id: str
    incident_id: str
    requester_id: str
    message: str
    requested_at: datetime
    targets: tuple[ResponderTarget, ...]


@dataclass(slots=True)
class StatusUpdate:
    id: str
    incident_id: str
    sender_id: str
    message: str
    created_at: datetime
    subject: str | None = None
    html_message: str | None = None


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """A webhook-worthy change; `note_id` is set for incident.annotated, `responder_id` (a
    user id) for incident.responder.*, `status_update_id` for status_update_published."""

    event_type: str
    incident_id: str
    agent_id: str | None
    occurred_at: datetime
    note_id: str | None = None
    responder_id: str | None = None
    status_update_id: str | None = None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One line of an incident's timeline (`GET /incidents/{id}/log_entries`)."""

    id: str
    type: str
    incident_id: str
    agent_id: str | None
    created_at: datetime
    summary: str
    assignee_ids: tuple[str, ...] = ()


# Webhook event -> log entry type (the document's LogEntry `type` enum) and summary verb.
_LOG_ENTRY_TYPES = {
    "incident.triggered": ("trigger_log_entry", "Triggered through the API"),
    "incident.reopened": ("trigger_log_entry", "Reopened"),
    "incident.acknowledged": ("acknowledge_log_entry", "Acknowledged"),
    "incident.unacknowledged": ("unacknowledge_log_entry", "Unacknowledged"),
    "incident.resolved": ("resolve_log_entry", "Resolved"),
    "incident.annotated": ("annotate_log_entry", "Note added"),
    "incident.reassigned": ("assign_log_entry", "Reassigned"),
    "incident.delegated": ("delegate_log_entry", "Delegated"),
    "incident.escalated": ("escalate_log_entry", "Escalated"),
}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PagerDutyState:
    """The whole simulated account. Deterministic ids when seeded."""

    def __init__(
        self,
        *,
        seed: int | None = None,
        clock: Callable[[], datetime] = _utc_now,
        with_priorities: bool = True,
    ) -> None:
        self._rng = random.Random(seed)
        self._clock = clock
        self.users: dict[str, User] = {}
        self.escalation_policies: dict[str, EscalationPolicy] = {}
        self.services: dict[str, Service] = {}
        self.priorities: dict[str, Priority] = {}
        self.integrations: dict[str, Integration] = {}
        self.incidents: dict[str, Incident] = {}
        self.notes: dict[str, list[Note]] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.responders: dict[str, list[Responder]] = {}
        self.responder_requests: dict[str, list[ResponderRequest]] = {}
        self.status_updates: dict[str, list[StatusUpdate]] = {}
        self.log_entries: list[LogEntry] = []
        self._next_number = 1
        self._seed_account(with_priorities=with_priorities)

    # ----- seed and ids -------------------------------------------------------------------

    def _seed_account(self, *, with_priorities: bool) -> None:
        for user in (
            User("PUSER01", "Pat Oncall", "pat@example.com", role="admin"),
            User("PUSER02", "Integration Bot", "pdjira-bot@example.com"),
        ):
            self.users[user.id] = user
        self.escalation_policies["PEP0001"] = EscalationPolicy(
            "PEP0001", "Checkout On-Call", on_call_user_id="PUSER01"
        )
        # A second policy to delegate to (incident.delegated).
        self.escalation_policies["PEP0002"] = EscalationPolicy(
            "PEP0002", "Platform On-Call", on_call_user_id="PUSER02"
        )
        self.services["PSVC001"] = Service(
            "PSVC001", "Checkout API", "PEP0001", description="Checkout and payments API"
        )
        self.integrations["PINT001"] = Integration(
            "PINT001", "Events API v2", "PSVC001", routing_key=DEFAULT_ROUTING_KEY
        )
        descriptions = (
            "Critical issue that warrants public notification and liaison with executive teams",
            "Critical system issue actively impacting many customers' ability to use the product",
            "Stability or minor customer-impacting issues that require immediate attention",
            "Minor issues requiring action, but not affecting customers' use of the product",
            "Cosmetic issues or bugs, not affecting customers' ability to use the product",
        )
        for i, text in enumerate(descriptions if with_priorities else (), start=1):
            self.priorities[f"PPRI00{i}"] = Priority(f"PPRI00{i}", f"P{i}", text, order=i)

    def new_id(self, prefix: str = "P", length: int = 6) -> str:
        """PagerDuty-looking ids: `P` + 6 for most objects, `Q` + 13 for new incidents."""
        alphabet = string.ascii_uppercase + string.digits
        while True:
            candidate = prefix + "".join(self._rng.choice(alphabet) for _ in range(length))
            if candidate not in self.incidents and candidate not in self.subscriptions:
                return candidate

    def new_uuid(self) -> str:
        """uuid4-formatted id from the seeded RNG (event ids, webhook ids)."""
        value = self._rng.getrandbits(128)
        value = (value & ~(0xF << 76)) | (0x4 << 76)  # version 4
        value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
        h = f"{value:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def now(self) -> datetime:
        return self._clock()

    # ----- look-ups -----------------------------------------------------------------------

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted), None)

    def user(self, user_id: str) -> User:
        try:
            return self.users[user_id]
        except KeyError:
            raise invalid_input(f"User {user_id} not found") from None

    def incident(self, id_or_number: str) -> Incident:
        """`{id}` "accepts either an incident id, or an incident number"."""
        found = self.incidents.get(id_or_number)
        if found is None and id_or_number.isdigit():
            number = int(id_or_number)
            found = next((i for i in self.incidents.values() if i.number == number), None)
        if found is None:
            raise not_found()
        return found

    def resolve_priority(self, ref: object) -> str | None:
        """A priority reference `{"id": ...}`, a priority name, or None (no priority)."""
        if ref is None:
            return None
        if isinstance(ref, str):
            # "the highest priority with a matching name will be used"
            matches = sorted(
                (p for p in self.priorities.values() if p.name.lower() == ref.lower()),
                key=lambda p: p.order,
            )
            if matches:
                return matches[0].id
        elif isinstance(ref, dict) and ref.get("id") in self.priorities:
            return str(ref["id"])
        raise PdError(400, "Invalid Priority", 1020, ["Priority not found"])

    def list_incidents(
        self,
        *,
        statuses: Sequence[str] = (),
        service_ids: Sequence[str] = (),
        urgencies: Sequence[str] = (),
        incident_key: str | None = None,
        user_ids: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Incident]:
        result = []
        for inc in self.incidents.values():
            if since is not None and inc.created_at < since:
                continue
            if until is not None and inc.created_at >= until:
                continue
            if statuses and inc.status not in statuses:
                continue
            if service_ids and inc.service_id not in service_ids:
                continue
            if urgencies and inc.urgency not in urgencies:
                continue
            if incident_key is not None and inc.incident_key != incident_key:
                continue
            if user_ids and not any(a.user_id in user_ids for a in inc.assignments):
                continue
            result.append(inc)
        return sorted(result, key=lambda i: i.number)

    # ----- incident mutations -------------------------------------------------------------

    def create_incident(
        self,
        *,
        agent_id: str,
        title: str,
        service_id: str,
        urgency: str | None = None,
        incident_key: str | None = None,
        priority: object = None,
        body_details: str | None = None,
        assignee_ids: Sequence[str] = (),
        escalation_policy_id: str | None = None,
        conference_bridge: dict[str, str] | None = None,
    ) -> tuple[Incident, list[IncidentEvent]]:
        if not title.strip():
            raise invalid_input("Title cannot be empty.")
        service = self.services.get(service_id)
        if service is None:
            raise invalid_input("Service not found")
        if urgency is not None and urgency not in URGENCIES:
            raise invalid_input("Urgency must be one of high, low")
        if assignee_ids and escalation_policy_id:
            raise invalid_input("Assignments cannot be specified if an escalation policy is given")
        if escalation_policy_id is not None and escalation_policy_id not in (
            self.escalation_policies
        ):
            raise PdError(400, "Escalation Policy Not Found", 1014)
        for uid in assignee_ids:
            if uid not in self.users:
                raise PdError(400, "Assigned To User Not Found", 1007)
        if incident_key is not None and any(
            i.incident_key == incident_key and i.service_id == service_id and i.status != "resolved"
            for i in self.incidents.values()
        ):
            raise invalid_input(
                "Open incident with matching dedup key already exists on this service"
            )
        priority_id = self.resolve_priority(priority)
        now = self.now()
        ep_id = escalation_policy_id or service.escalation_policy_id
        if assignee_ids:
            assignees, via = list(assignee_ids[:1]), "direct_assignment"  # one assignee only
        else:
            assignees, via = [self.escalation_policies[ep_id].on_call_user_id], "escalation_policy"
        incident = Incident(
            id=self.new_id("Q", 13),
            number=self._next_number,
            title=title,
            service_id=service_id,
            escalation_policy_id=ep_id,
            urgency=urgency or service.default_urgency,
            status="triggered",
            incident_key=incident_key or self.new_uuid().replace("-", ""),
            priority_id=priority_id,
            created_at=now,
            updated_at=now,
            last_status_change_at=now,
            last_status_change_by=agent_id,
            assigned_via=via,
            assignments=[Assignment(uid, now) for uid in assignees],
            body_details=body_details,
            conference_bridge=conference_bridge,
        )
        self._next_number += 1
        self.incidents[incident.id] = incident
        self.notes[incident.id] = []
        events = [IncidentEvent("incident.triggered", incident.id, agent_id, now)]
        if via == "direct_assignment" and assignees == [agent_id]:
            # Self-assignment "creates the incident Acknowledged with no notification".
            incident.status = "acknowledged"
            incident.acknowledgements = [Acknowledgement(agent_id, now)]
            events.append(IncidentEvent("incident.acknowledged", incident.id, agent_id, now))
        self._log(events)
        return incident, events

    def update_incident(
        self,
        incident_id: str,
        *,
        agent_id: str,
        status: str | None = None,
        priority: object = UNSET,
        urgency: str | None = None,
        title: str | None = None,
        escalation_policy_id: str | None = None,
        assignee_ids: Sequence[str] = (),
        conference_bridge: dict[str, str] | None = None,
    ) -> tuple[Incident, list[IncidentEvent]]:
        """Apply a PUT; a field equal to its current value changes nothing."""
        incident = self.incident(incident_id)
        if status is not None and status not in STATUSES:
            raise PdError(400, "Invalid Status Provided", 1003)
        if urgency is not None and urgency not in URGENCIES:
            raise invalid_input("Urgency must be one of high, low")
        if title is not None and not title.strip():
            raise invalid_input("Title cannot be empty.")
        if escalation_policy_id is not None and escalation_policy_id not in (
            self.escalation_policies
        ):
            raise PdError(400, "Escalation Policy Not Found", 1014)
        for uid in assignee_ids:
            if uid not in self.users:
                raise PdError(400, "Assigned To User Not Found", 1007)
        # Everything is validated above: a 400 never leaves a half-applied update.
        new_priority = (
            incident.priority_id if priority is UNSET else self.resolve_priority(priority)
        )
        now = self.now()
        events: list[IncidentEvent] = []
        changed = False
        urgency_change = ""

        if status is not None and status != incident.status:
            events.extend(self._change_status(incident, status, agent_id, now))
            changed = True
        if new_priority != incident.priority_id:
            incident.priority_id = new_priority
            events.append(IncidentEvent("incident.priority_updated", incident.id, agent_id, now))
            changed = True
        if urgency is not None and urgency != incident.urgency:
            # No v3 webhook event for urgency changes; the timeline gets an UrgencyChangeLogEntry.
            urgency_change = f"Urgency changed from {incident.urgency} to {urgency}"
            incident.urgency = urgency
            changed = True
        if title is not None and title != incident.title:
            incident.title = title  # no documented v3 event for title changes
            changed = True
        if conference_bridge is not None and conference_bridge != incident.conference_bridge:
            incident.conference_bridge = conference_bridge
            changed = True
        if (
            escalation_policy_id is not None
            and escalation_policy_id != incident.escalation_policy_id
            and incident.status != "resolved"
        ):
            incident.escalation_policy_id = escalation_policy_id
            on_call = self.escalation_policies[escalation_policy_id].on_call_user_id
            incident.assignments = [Assignment(on_call, now)]
            incident.assigned_via = "escalation_policy"
            events.append(IncidentEvent("incident.delegated", incident.id, agent_id, now))
            changed = True
        if assignee_ids and incident.status != "resolved":
            current = [a.user_id for a in incident.assignments]
            if list(assignee_ids) != current:
                incident.assignments = [Assignment(uid, now) for uid in assignee_ids]
                incident.assigned_via = "direct_assignment"
                events.append(IncidentEvent("incident.reassigned", incident.id, agent_id, now))
                changed = True
        if changed:
            incident.updated_at = now
        self._log(events)
        if urgency_change:
            self._append_log("urgency_change_log_entry", incident, agent_id, now, urgency_change)
        return incident, events

    def _change_status(
        self, incident: Incident, status: str, agent_id: str, now: datetime
    ) -> list[IncidentEvent]:
        previous = incident.status
        incident.status = status
        incident.last_status_change_at = now
        incident.last_status_change_by = agent_id
        events: list[IncidentEvent] = []
        if status == "resolved":
            # "assignments is empty when resolved", and so are acknowledgements.
            incident.assignments = []
            incident.acknowledgements = []
            incident.resolved_at = now
            return [IncidentEvent("incident.resolved", incident.id, agent_id, now)]
        if previous == "resolved":
            incident.resolved_at = None
            incident.reopened_at = now
            events.append(IncidentEvent("incident.reopened", incident.id, agent_id, now))
            if status == "acknowledged" and agent_id in self.users:
                # Reopening to acknowledged "will be assigned to the current user".
                incident.assignments = [Assignment(agent_id, now)]
                incident.assigned_via = "direct_assignment"
            else:
                on_call = self.escalation_policies[incident.escalation_policy_id].on_call_user_id
                incident.assignments = [Assignment(on_call, now)]
                incident.assigned_via = "escalation_policy"
        if status == "acknowledged":
            incident.acknowledgements = [Acknowledgement(agent_id, now)]
            events.append(IncidentEvent("incident.acknowledged", incident.id, agent_id, now))
        elif previous == "acknowledged":  # acknowledged -> triggered
            incident.acknowledgements = []
            events.append(IncidentEvent("incident.unacknowledged", incident.id, agent_id, now))
        return events

    def add_note(
        self, incident_id: str, *, agent_id: str, content: str
    ) -> tuple[Note, list[IncidentEvent]]:
        incident = self.incident(incident_id)
        if not content.strip():
            raise invalid_input("Note content cannot be empty.")
        notes = self.notes[incident.id]
        if len(notes) >= MAX_NOTES:
            raise PdError(400, "Product Limit Reached", 2019, ["Too many notes on this incident"])
        now = self.now()
        note = Note(self.new_id(), incident.id, agent_id, content, now, now)
        notes.append(note)
        event = IncidentEvent("incident.annotated", incident.id, agent_id, now, note_id=note.id)
        self._log([event])
        return note, [event]

    def escalate(
        self, incident_id: str, *, agent_id: str | None, to_user_id: str
    ) -> tuple[Incident, list[IncidentEvent]]:
        """ "escalated to another user in the same escalation level" (by timeout when
        `agent_id` is None, as PagerDuty does on its own)."""
        incident = self.incident(incident_id)
        if incident.status == "resolved":
            raise PdError(400, "Cannot Escalate", 1006, ["Incident is resolved"])
        if to_user_id not in self.users:
            raise PdError(400, "Assigned To User Not Found", 1007)
        now = self.now()
        incident.assignments = [Assignment(to_user_id, now)]
        incident.assigned_via = "escalation_policy"
        incident.updated_at = now
        events = [IncidentEvent("incident.escalated", incident.id, agent_id, now)]
        self._log(events)
        return incident, events

    def request_responders(
        self,
        incident_id: str,
        *,
        requester_id: str,
        message: str,
        user_ids: Sequence[str] = (),
        targets: Sequence[ResponderTarget] = (),
    ) -> tuple[ResponderRequest, list[IncidentEvent]]:
        """Ask users (or the on-call user of escalation policies) to join the incident: one
        `incident.responder.added` per user asked, the request kept on the incident."""
        incident = self.incident(incident_id)
        all_targets = [ResponderTarget("user", uid) for uid in user_ids] + list(targets)
        if incident.status == "resolved":
            raise invalid_input("Cannot add responders to a resolved incident")
        if requester_id not in self.users:
            raise PdError(400, "Requester User Not Found", 1008)
        if not all_targets:
            raise invalid_input("responder_request_targets must not be empty")
        for target in all_targets:
            if target.type == "user" and target.id not in self.users:
                raise PdError(400, "User Not Found", 2013, [f"User {target.id} not found"])
            if target.type == "escalation_policy" and target.id not in self.escalation_policies:
                raise PdError(400, "Escalation Policy Not Found", 1014)
        now = self.now()
        request = ResponderRequest(
            self.new_id(),
            incident.id,
            requester_id,
            message,
            now,
            tuple(dict.fromkeys(all_targets)),
        )
        events = []
        current = self.responders.setdefault(incident.id, [])
        for target in request.targets:
            if target.type == "user":
                uid, ep_id = target.id, None
            else:
                uid, ep_id = self.escalation_policies[target.id].on_call_user_id, target.id
            responder = Responder(
                incident.id, uid, requester_id, message, "pending", now, now, request.id, ep_id
            )
            current[:] = [r for r in current if r.user_id != uid] + [responder]
            events.append(
                IncidentEvent(
                    "incident.responder.added", incident.id, requester_id, now, responder_id=uid
                )
            )
        self.responder_requests.setdefault(incident.id, []).append(request)
        incident.updated_at = now
        return request, events

    def responders_of(self, request: ResponderRequest, target: ResponderTarget) -> list[Responder]:
        """The responder entries a request's target produced (current state)."""
        return [
            r
            for r in self.responders.get(request.incident_id, [])
            if r.request_id == request.id
            and (
                r.escalation_policy_id == target.id
                if target.type == "escalation_policy"
                else r.user_id == target.id and r.escalation_policy_id is None
            )
        ]

    def reply_as_responder(
        self, incident_id: str, user_id: str, *, accept: bool
    ) -> tuple[Responder, list[IncidentEvent]]:
        incident = self.incident(incident_id)
        responder = next(
            (r for r in self.responders.get(incident.id, []) if r.user_id == user_id), None
        )
        if responder is None:
            raise not_found()
        now = self.now()
        responder.state = "joined" if accept else "declined"
        responder.updated_at = now
        event = IncidentEvent(
            "incident.responder.replied", incident.id, user_id, now, responder_id=user_id
        )
        return responder, [event]

    def add_status_update(
        self,
        incident_id: str,
        *,
        sender_id: str,
        message: str,
        subject: str | None = None,
        html_message: str | None = None,
    ) -> tuple[StatusUpdate, list[IncidentEvent]]:
        incident = self.incident(incident_id)
        if not message.strip():
            raise invalid_input("message cannot be empty")
        now = self.now()
        update = StatusUpdate(
            self.new_id(), incident.id, sender_id, message, now, subject, html_message
        )
        self.status_updates.setdefault(incident.id, []).append(update)
        event = IncidentEvent(
            "incident.status_update_published",
            incident.id,
            sender_id,
            now,
            status_update_id=update.id,
        )
        return update, [event]

    def _log(self, events: Sequence[IncidentEvent]) -> None:
        for event in events:
            known = _LOG_ENTRY_TYPES.get(event.event_type)
            if known is None:
                continue  # e.g. priority changes have no log entry type in the document
            kind, summary = known
            incident = self.incidents[event.incident_id]
            self._append_log(kind, incident, event.agent_id, event.occurred_at, summary)

    def _append_log(
        self, kind: str, incident: Incident, agent_id: str | None, at: datetime, summary: str
    ) -> None:
        agent = self.users.get(agent_id or "")
        if agent is not None:
            summary += f" by {agent.name}"
        self.log_entries.append(
            LogEntry(
                id=self.new_id("R", 13),
                type=kind,
                incident_id=incident.id,
                agent_id=agent_id,
                created_at=at,
                summary=summary,
                assignee_ids=tuple(a.user_id for a in incident.assignments),
            )
        )

    def note(self, incident_id: str, note_id: str) -> Note:
        for note in self.notes.get(incident_id, []):
            if note.id == note_id:
                return note
        raise not_found()

    # ----- subscriptions ------------------------------------------------------------------

    def add_subscription(
        self,
        *,
        url: str,
        events: Sequence[str],
        secrets: Sequence[str] | None = None,
        filter_type: str = "account_reference",
        filter_id: str | None = None,
        description: str = "",
        custom_headers: Sequence[tuple[str, str]] = (),
        active: bool = True,
        subscription_id: str | None = None,
    ) -> Subscription:
        sub = Subscription(
            id=subscription_id or self.new_id(),
            url=url,
            secrets=list(secrets) if secrets is not None else [self._new_secret()],
            events=tuple(events),
            filter_type=filter_type,
            filter_id=filter_id,
            active=active,
            description=description,
            custom_headers=list(custom_headers),
            delivery_method_id=self.new_id(),
        )
        self.subscriptions[sub.id] = sub
        return sub

    def _new_secret(self) -> str:
        # Real secrets look like base64 but are used as raw UTF-8 bytes.
        alphabet = string.ascii_letters + string.digits + "+/"
        return "".join(self._rng.choice(alphabet) for _ in range(64))

    def integration_by_key(self, routing_key: str) -> Integration | None:
        return next((i for i in self.integrations.values() if i.routing_key == routing_key), None)

    def open_incident_by_key(self, service_id: str, incident_key: str) -> Incident | None:
        return next(
            (
                i
                for i in self.incidents.values()
                if i.service_id == service_id
                and i.incident_key == incident_key
                and i.status != "resolved"
            ),
            None,
        )

    def subscribers(self, event: IncidentEvent) -> list[Subscription]:
        """Active subscriptions that want this event for this incident."""
        incident = self.incidents[event.incident_id]
        result = []
        for sub in self.subscriptions.values():
            if not sub.active or event.event_type not in sub.events:
                continue
            if sub.filter_type == "service_reference" and sub.filter_id != incident.service_id:
                continue
            if sub.filter_type == "team_reference":
                continue  # the simulated services belong to no team
            result.append(sub)
        return result
