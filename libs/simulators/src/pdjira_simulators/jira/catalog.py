"""The instance's configuration data: statuses, priorities, types, users, fields, projects.

Seeded like a fresh Jira DC with a simplified workflow project. Look-ups accept an id or a
name (case-insensitive), as the REST API and JQL do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = [
    "CATEGORIES",
    "Catalog",
    "FieldDef",
    "IssueType",
    "JiraUser",
    "Priority",
    "Project",
    "Resolution",
    "Status",
    "StatusCategory",
]


@dataclass(frozen=True, slots=True)
class StatusCategory:
    id: int
    key: str
    name: str
    color: str


CATEGORIES = {
    c.key: c
    for c in (
        StatusCategory(1, "undefined", "No Category", "medium-gray"),
        StatusCategory(2, "new", "To Do", "blue-gray"),
        StatusCategory(4, "indeterminate", "In Progress", "yellow"),
        StatusCategory(3, "done", "Done", "green"),
    )
}


@dataclass(frozen=True, slots=True)
class Status:
    id: str
    name: str
    category: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class Priority:
    id: str
    name: str
    color: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class IssueType:
    id: str
    name: str
    description: str = ""
    subtask: bool = False


@dataclass(frozen=True, slots=True)
class Resolution:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class JiraUser:
    """Server/DC users: `name` is the login, `key` the immutable id (JIRAUSERnnnnn)."""

    key: str
    name: str
    email: str
    display_name: str
    password: str
    active: bool = True
    time_zone: str = "UTC"  # the profile's zone: Jira reads the user's JQL dates in it


@dataclass(frozen=True, slots=True)
class FieldDef:
    """`schema` as `GET /field` returns it; custom fields are matched by id in the API."""

    id: str
    name: str
    custom: bool
    schema: dict[str, object]
    navigable: bool = True


@dataclass(slots=True)
class Project:
    id: str
    key: str
    name: str
    lead_key: str
    issue_type_ids: tuple[str, ...]
    next_issue_number: int = 1
    # (issue type id) -> field ids required at create, beyond summary/project/issuetype
    required_on_create: dict[str, tuple[str, ...]] = field(default_factory=dict)


T = TypeVar("T", Status, Priority, IssueType, Resolution)


class _Registry(Generic[T]):
    """id -> item with a case-insensitive name index."""

    def __init__(self, items: list[T]) -> None:
        self.items: dict[str, T] = {i.id: i for i in items}

    def add(self, item: T) -> None:
        self.items[item.id] = item

    def get(self, id_or_name: str) -> T | None:
        found = self.items.get(str(id_or_name))
        if found is None:
            wanted = str(id_or_name).lower()
            found = next((i for i in self.items.values() if i.name.lower() == wanted), None)
        return found

    def __iter__(self) -> Iterator[T]:
        return iter(self.items.values())


SYSTEM_FIELDS = (
    FieldDef("summary", "Summary", False, {"type": "string", "system": "summary"}),
    FieldDef("description", "Description", False, {"type": "string", "system": "description"}),
    FieldDef("issuetype", "Issue Type", False, {"type": "issuetype", "system": "issuetype"}),
    FieldDef("project", "Project", False, {"type": "project", "system": "project"}),
    FieldDef("status", "Status", False, {"type": "status", "system": "status"}),
    FieldDef("priority", "Priority", False, {"type": "priority", "system": "priority"}),
    FieldDef("resolution", "Resolution", False, {"type": "resolution", "system": "resolution"}),
    FieldDef("resolutiondate", "Resolved", False, {"type": "datetime", "system": "resolutiondate"}),
    FieldDef("labels", "Labels", False, {"type": "array", "items": "string", "system": "labels"}),
    FieldDef("assignee", "Assignee", False, {"type": "user", "system": "assignee"}),
    FieldDef("reporter", "Reporter", False, {"type": "user", "system": "reporter"}),
    FieldDef("creator", "Creator", False, {"type": "user", "system": "creator"}),
    FieldDef("created", "Created", False, {"type": "datetime", "system": "created"}),
    FieldDef("updated", "Updated", False, {"type": "datetime", "system": "updated"}),
    FieldDef(
        "comment", "Comment", False, {"type": "comments-page", "system": "comment"}, navigable=False
    ),
    FieldDef("issuekey", "Key", False, {"type": "string", "system": "issuekey"}),
)
CUSTOM_FIELDS = (
    FieldDef(
        "customfield_10100",
        "Root Cause",
        True,
        {
            "type": "string",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textarea",
            "customId": 10100,
        },
    ),
    FieldDef(
        "customfield_10101",
        "PagerDuty Incident",
        True,
        {
            "type": "string",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:url",
            "customId": 10101,
        },
    ),
    FieldDef(
        "customfield_10102",
        "Impacted Service",
        True,
        {
            "type": "string",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
            "customId": 10102,
        },
    ),
)


class Catalog:
    """Everything an admin configures; issues live in the state, not here."""

    def __init__(self) -> None:
        self.statuses = _Registry(
            [
                Status("10000", "To Do", "new"),
                Status(
                    "3",
                    "In Progress",
                    "indeterminate",
                    "This issue is being actively worked on at the moment by the assignee.",
                ),
                Status("10100", "Review", "indeterminate"),
                Status("10001", "Done", "done"),
            ]
        )
        self.priorities = _Registry(
            [
                Priority("1", "Highest", "#d04437", "This problem will block progress."),
                Priority("2", "High", "#f15C75", "Serious problem that could block progress."),
                Priority("3", "Medium", "#f79232", "Has the potential to affect progress."),
                Priority("4", "Low", "#707070", "Minor problem or easily worked around."),
                Priority("5", "Lowest", "#999999", "Trivial problem with little or no impact."),
            ]
        )
        self.issue_types = _Registry(
            [
                IssueType("10002", "Task", "A task that needs to be done."),
                IssueType("10004", "Bug", "A problem which impairs or prevents the functions."),
                IssueType("10005", "Incident", "A system incident."),
            ]
        )
        self.resolutions = _Registry(
            [
                Resolution("10000", "Done", "Work has been completed on this issue."),
                Resolution("10001", "Won't Do", "This issue won't be actioned."),
            ]
        )
        self.users: dict[str, JiraUser] = {}
        for user in (
            JiraUser("JIRAUSER10000", "admin", "admin@example.com", "Jira Admin", "admin"),
            JiraUser("JIRAUSER10100", "jdoe", "jdoe@example.com", "John Doe", "jdoe"),
        ):
            self.users[user.name] = user
        # Group name -> member login names, as a fresh DC instance has them: every user in
        # the application-access group, the administrators in jira-administrators.
        self.groups: dict[str, list[str]] = {
            "jira-administrators": ["admin"],
            "jira-software-users": list(self.users),
        }
        self.projects: dict[str, Project] = {
            "10000": Project(
                "10000", "OPS", "Operations", "JIRAUSER10000", ("10002", "10004", "10005")
            )
        }
        self.fields: dict[str, FieldDef] = {f.id: f for f in (*SYSTEM_FIELDS, *CUSTOM_FIELDS)}
        self.default_priority_id = "3"
        self._next_status_id = 10200

    def project(self, key_or_id: str) -> Project | None:
        found = self.projects.get(str(key_or_id))
        if found is None:
            wanted = str(key_or_id).upper()
            found = next((p for p in self.projects.values() if p.key == wanted), None)
        return found

    def user(self, name_or_key: str) -> JiraUser | None:
        """By login name, key or e-mail (Server identifies users by name/key)."""
        wanted = name_or_key.lower()
        return self.users.get(name_or_key) or next(
            (
                u
                for u in self.users.values()
                if wanted in (u.name.lower(), u.key.lower(), u.email.lower())
            ),
            None,
        )

    def group(self, name: str) -> str | None:
        """The group's name as created (group names are case-insensitive)."""
        wanted = name.lower()
        return next((g for g in self.groups if g.lower() == wanted), None)

    def groups_of(self, user: JiraUser) -> list[str]:
        return sorted(g for g, members in self.groups.items() if user.name in members)

    def add_to_group(self, group: str, user: JiraUser) -> None:
        """Add ``user`` to ``group``, creating the group if needed (idempotent)."""
        members = self.groups.setdefault(self.group(group) or group, [])
        if user.name not in members:
            members.append(user.name)

    def user_by_key(self, key: str) -> JiraUser:
        return next(u for u in self.users.values() if u.key == key)

    def add_status(self, name: str, category: str) -> Status:
        """Admins create statuses; new ones get ids from 10200 up."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown status category {category!r}")
        existing = self.statuses.get(name)
        if existing is not None:
            return existing
        status = Status(str(self._next_status_id), name, category)
        self._next_status_id += 1
        self.statuses.add(status)
        return status

    def field_name(self, field_id: str) -> str:
        fdef = self.fields.get(field_id)
        return fdef.name if fdef else field_id
