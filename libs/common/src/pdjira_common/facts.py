"""Typed facts about a PagerDuty incident and a Jira issue, as events carry them, and how they
are read from the vendors' webhook JSON.

Ingest reads a webhook once; the rules engine (conditions, templates, JQL) reads only these
Structs. The readers live here, beside the Structs, because the rules service reads an older
event's raw payload the same way when it upgrades it (see ``contracts.upgrade_event``).

Readers are lenient: a descriptive part that is absent or of an odd type is left out, never
guessed (ingest checks what identifies an event before it reads the rest). For Jira, a field
the webhook did not carry stays ``UNSET``, one it carried empty is ``None`` / ``()``: JQL tells
the two apart (``IS EMPTY`` is true of the second, only Jira can say for the first).

Bounded, so that no webhook makes an event too big for the bus: texts, names, values per field
and custom fields carried are capped (:data:`MAX_TEXT`, :data:`MAX_NAME`, :data:`MAX_VALUES`,
:data:`MAX_CUSTOM_FIELDS`). A field cut to fit is listed in ``IssueFields.clipped``, so JQL asks
Jira about it instead of deciding on part of it; custom fields beyond the cap are not carried.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Annotated, Final, Literal, TypeAlias, get_args

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "MAX_CUSTOM_FIELDS",
    "MAX_NAME",
    "MAX_TEXT",
    "MAX_VALUES",
    "FieldValue",
    "IncidentFacts",
    "IncidentStatus",
    "IssueFields",
    "JiraComment",
    "JiraRef",
    "JiraUser",
    "PdAgent",
    "PdNote",
    "PdRef",
    "Scalar",
    "read_agent",
    "read_incident",
    "read_issue_fields",
    "read_jira_user",
]

IncidentStatus = Literal["triggered", "acknowledged", "resolved"]
Scalar: TypeAlias = str | int | float | bool

MAX_TEXT: Final = 32_768  # summary, description, environment, a custom field's text
MAX_NAME: Final = 1_024  # an id, key, name or e-mail
MAX_VALUES: Final = 100  # labels, components, options... of one field; assignees
MAX_CUSTOM_FIELDS: Final = 500

Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]
_STATUSES: Final[tuple[str, ...]] = get_args(IncidentStatus)

# ---------------------------------------------------------------- PagerDuty


class PdRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A PagerDuty reference (service, priority, user, escalation policy): id and display name."""

    id: Name | None = None
    summary: Name | None = None


class PdAgent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who acted (webhook ``event.agent``); ``type`` e.g. "user_reference"."""

    id: Name | None = None
    type: Name | None = None
    summary: Name | None = None


class PdNote(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A note added to an incident (``incident.annotated``)."""

    id: str
    content: str


class IncidentFacts(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What an incident event says about the incident (webhook v3 ``event.data``)."""

    status: IncidentStatus
    number: int | None = None
    urgency: Name | None = None
    service: PdRef | None = None
    priority: PdRef | None = None  # None: the incident has no priority
    escalation_policy: PdRef | None = None
    assignees: Annotated[tuple[PdRef, ...], msgspec.Meta(max_length=MAX_VALUES)] = ()
    created_at: Name | None = None
    description: Text | None = None  # REST-shaped data only; webhooks carry the title
    # Set by whoever created it: pdjira gives an incident it creates for an issue that issue's key.
    incident_key: Name | None = None


# ---------------------------------------------------------------- Jira


class JiraRef(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A named Jira thing (project, status, priority, component, version...)."""

    id: Name | None = None
    key: Name | None = None
    name: Name | None = None


class JiraUser(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    name: Name | None = None  # login name
    key: Name | None = None
    email: Name | None = None
    display_name: Name | None = None


class JiraComment(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    id: str
    body: str


class FieldValue(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One value of a custom field: a plain ``value`` (text, number, date, boolean), or an
    object's identifying parts in ``names`` (its value, name, key, id, display name, e-mail)."""

    value: Text | int | float | bool | None = None
    names: Annotated[tuple[Name | int | float | bool, ...], msgspec.Meta(max_length=6)] = ()


Values = Annotated[tuple[FieldValue, ...], msgspec.Meta(max_length=MAX_VALUES)]
Refs = Annotated[tuple[JiraRef, ...], msgspec.Meta(max_length=MAX_VALUES)]
Labels = Annotated[tuple[Name, ...], msgspec.Meta(max_length=MAX_VALUES)]


class IssueFields(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The issue's fields from the webhook's ``issue.fields`` (UNSET: not carried)."""

    project: JiraRef = JiraRef()
    issue_type: JiraRef = JiraRef()
    status: JiraRef = JiraRef()
    status_category: JiraRef | UnsetType | None = UNSET
    summary: Text | UnsetType | None = UNSET
    description: Text | UnsetType | None = UNSET
    environment: Text | UnsetType | None = UNSET
    priority: JiraRef | UnsetType | None = UNSET
    resolution: JiraRef | UnsetType | None = UNSET
    labels: Labels | UnsetType = UNSET
    components: Refs | UnsetType = UNSET
    fix_versions: Refs | UnsetType = UNSET
    versions: Refs | UnsetType = UNSET
    parent: JiraRef | UnsetType | None = UNSET
    assignee: JiraUser | UnsetType | None = UNSET
    reporter: JiraUser | UnsetType | None = UNSET
    creator: JiraUser | UnsetType | None = UNSET
    created: Name | UnsetType | None = UNSET
    updated: Name | UnsetType | None = UNSET
    resolution_date: Name | UnsetType | None = UNSET
    due_date: Name | UnsetType | None = UNSET
    # "customfield_10010" -> its values (() : carried empty)
    custom: Annotated[dict[str, Values], msgspec.Meta(max_length=MAX_CUSTOM_FIELDS)] = {}
    # Fields cut to fit the bounds: only Jira can answer JQL about them.
    clipped: tuple[str, ...] = ()


# ---------------------------------------------------------------- reading vendor JSON


def _obj(node: object) -> Mapping[str, object] | None:
    return node if isinstance(node, Mapping) else None


def _str(node: object) -> str | None:
    """A non-empty string, or an id sent as a number; else None."""
    if isinstance(node, str) and node:
        return node
    if isinstance(node, int) and not isinstance(node, bool):
        return str(node)
    return None


class _Clipper:
    """Cuts values to the bounds and remembers which fields it cut."""

    def __init__(self) -> None:
        self.clipped: list[str] = []

    def text(self, field: str, value: str, limit: int = MAX_TEXT) -> str:
        if len(value) <= limit:
            return value
        self.clipped.append(field)
        return value[:limit]

    def name(self, field: str, node: object) -> str | None:
        value = _str(node)
        return None if value is None else self.text(field, value, MAX_NAME)

    def many(self, field: str, items: list[object]) -> list[object]:
        if len(items) <= MAX_VALUES:
            return items
        self.clipped.append(field)
        return items[:MAX_VALUES]


def _name(node: object) -> str | None:
    """A PagerDuty name or id, cut to the bound (no JQL reads these)."""
    value = _str(node)
    return None if value is None else value[:MAX_NAME]


def _pd_ref(node: object) -> PdRef | None:
    ref = _obj(node)
    if ref is None:
        return None
    found = PdRef(id=_name(ref.get("id")), summary=_name(ref.get("summary")))
    return found if found.id or found.summary else None


def read_agent(node: object) -> PdAgent | None:
    """``event.agent`` of a PagerDuty v3 webhook."""
    agent = _obj(node)
    if agent is None:
        return None
    return PdAgent(
        id=_name(agent.get("id")),
        type=_name(agent.get("type")),
        summary=_name(agent.get("summary")),
    )


def _assignees(data: Mapping[str, object]) -> tuple[PdRef, ...]:
    """``assignees`` (webhook shape), else ``assignments[].assignee`` (REST shape)."""
    raw = data.get("assignees")
    people: list[object] = list(raw) if isinstance(raw, list) else []
    assignments = data.get("assignments")
    if not people and isinstance(assignments, list):
        people = [(_obj(a) or {}).get("assignee") for a in assignments]
    refs = (_pd_ref(p) for p in people[:MAX_VALUES])
    return tuple(r for r in refs if r is not None)


def read_incident(data: object, *, status: IncidentStatus | None = None) -> IncidentFacts | None:
    """``event.data`` of an incident event (or a REST incident); None without a known status.

    ``status`` (when the caller knows it) wins over the data's own."""
    incident = _obj(data) or {}
    raw_status = status or incident.get("status")
    if raw_status not in _STATUSES:
        return None
    number = incident.get("incident_number", incident.get("number"))
    description = incident.get("description")
    return IncidentFacts(
        status=raw_status,  # type: ignore[arg-type]  # checked against IncidentStatus above
        number=number if isinstance(number, int) and not isinstance(number, bool) else None,
        urgency=_name(incident.get("urgency")),
        service=_pd_ref(incident.get("service")),
        priority=_pd_ref(incident.get("priority")),
        escalation_policy=_pd_ref(incident.get("escalation_policy")),
        assignees=_assignees(incident),
        created_at=_name(incident.get("created_at")),
        description=description[:MAX_TEXT] if isinstance(description, str) else None,
        incident_key=_name(incident.get("incident_key")),
    )


# Jira REST field id -> IssueFields attribute, by the shape of its value.
_REFS: Final = {
    "project": "project",
    "issuetype": "issue_type",
    "status": "status",
    "priority": "priority",
    "resolution": "resolution",
    "parent": "parent",
}
_REF_LISTS: Final = {
    "components": "components",
    "fixVersions": "fix_versions",
    "versions": "versions",
}
_USERS: Final = ("assignee", "reporter", "creator")
_TEXTS: Final = ("summary", "description", "environment")
_DATES: Final = {
    "created": "created",
    "updated": "updated",
    "resolutiondate": "resolution_date",
    "duedate": "due_date",
}
_REQUIRED: Final = frozenset({"project", "issue_type", "status"})
_CUSTOM: Final = "customfield_"
# A custom field value's identifying parts, in the order JQL reads them.
_CUSTOM_NAMES: Final = ("value", "name", "key", "id", "displayName", "emailAddress")


def _jira_ref(node: object, clip: _Clipper, field: str) -> JiraRef | None:
    ref = _obj(node)
    if ref is None:
        return None
    return JiraRef(
        id=clip.name(field, ref.get("id")),
        key=clip.name(field, ref.get("key")),
        name=clip.name(field, ref.get("name")),
    )


def read_jira_user(node: object) -> JiraUser | None:
    """A Jira user object (webhook ``user``, ``assignee``...)."""
    return _user(node, _Clipper(), "user")


def _user(node: object, clip: _Clipper, field: str) -> JiraUser | None:
    user = _obj(node)
    if user is None:
        return None
    return JiraUser(
        name=clip.name(field, user.get("name")),
        key=clip.name(field, user.get("key")),
        email=clip.name(field, user.get("emailAddress")),
        display_name=clip.name(field, user.get("displayName")),
    )


def _scalar(node: object) -> Scalar | None:
    if isinstance(node, float) and not math.isfinite(node):
        return None  # JSON has no NaN or infinity: it would not survive the bus
    return node if isinstance(node, str | int | float | bool) else None


def _custom_values(node: object, clip: _Clipper, field: str) -> tuple[FieldValue, ...]:
    """A custom field's value as FieldValues: one per element of a list, objects by their
    identifying parts, plain values as they are; anything else is left out."""
    elements = clip.many(field, list(node)) if isinstance(node, list) else [node]
    values: list[FieldValue] = []
    for element in elements:
        obj = _obj(element)
        if obj is not None:
            names = [_scalar(obj.get(part)) for part in _CUSTOM_NAMES]
            kept = tuple(
                clip.text(field, n, MAX_NAME) if isinstance(n, str) else n
                for n in names
                if n is not None
            )
            if kept:
                values.append(FieldValue(names=kept))
            continue
        scalar = _scalar(element)
        if isinstance(scalar, str):
            scalar = clip.text(field, scalar)
        if scalar is not None:
            values.append(FieldValue(value=scalar))
    return tuple(values)


def _refs(node: object, clip: _Clipper, field: str) -> tuple[JiraRef, ...] | UnsetType:
    if node is None:
        return ()
    if not isinstance(node, list):
        return UNSET
    refs = (_jira_ref(n, clip, field) for n in clip.many(field, list(node)))
    return tuple(r for r in refs if r is not None)


def _system(fields: Mapping[str, object], clip: _Clipper) -> dict[str, object]:
    found: dict[str, object] = {}
    for field, attr in _REFS.items():
        if field not in fields:
            continue
        ref = _jira_ref(fields[field], clip, field)
        if ref is not None or (fields[field] is None and attr not in _REQUIRED):
            found[attr] = ref
    status = _obj(fields.get("status"))
    if status is not None and "statusCategory" in status:
        found["status_category"] = _jira_ref(status["statusCategory"], clip, "status")
    for field, attr in _REF_LISTS.items():
        if field in fields:
            found[attr] = _refs(fields[field], clip, field)
    if "labels" in fields:
        labels = fields["labels"]
        if labels is None or isinstance(labels, list):
            found["labels"] = tuple(
                clip.text("labels", x, MAX_NAME)
                for x in clip.many("labels", list(labels or []))
                if isinstance(x, str) and x
            )
    for field in _USERS:
        if field in fields and (fields[field] is None or _obj(fields[field]) is not None):
            found[field] = _user(fields[field], clip, field)
    for field in _TEXTS:
        value = fields.get(field, UNSET)
        if value is None or isinstance(value, str):
            found[field] = value if value is None else clip.text(field, value)
    for field, attr in _DATES.items():
        value = fields.get(field, UNSET)
        if value is None or isinstance(value, str):
            found[attr] = value if value is None else clip.text(field, value, MAX_NAME)
    return found


def _custom(fields: Mapping[str, object], clip: _Clipper) -> dict[str, tuple[FieldValue, ...]]:
    custom: dict[str, tuple[FieldValue, ...]] = {}
    ids = (k for k in fields if isinstance(k, str) and k.startswith(_CUSTOM))
    for field in itertools.islice(ids, MAX_CUSTOM_FIELDS):
        custom[field] = _custom_values(fields[field], clip, field)
    return custom


def read_issue_fields(fields: object) -> IssueFields:
    """``issue.fields`` of a Jira webhook (or a REST issue), typed and bounded."""
    raw = _obj(fields) or {}
    clip = _Clipper()
    system = _system(raw, clip)
    custom = _custom(raw, clip)
    return IssueFields(
        **system,  # type: ignore[arg-type]  # each value read for its attribute above
        custom=custom,
        clipped=tuple(dict.fromkeys(clip.clipped)),
    )
