"""Who may do what in which project: project roles with their actors, and one permission scheme
per project granting each project permission to roles, groups, users or anyone logged in.

As in Jira DC: a software project's default scheme grants everything to any logged-in user (so
the simulator behaves as before unless a test takes something away); a Jira Service Management
project's scheme grants the agent permissions to its "Service Desk Team" role (and the
Administrators role), so an integration user who is not an agent can do nothing there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from pdjira_simulators.jira.catalog import Catalog, Project

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "SERVICE_DESK_TEAM",
    "Actor",
    "Grant",
    "ProjectAccess",
    "ProjectRole",
    "RequestType",
    "ServiceDesk",
    "agent_scheme",
    "open_scheme",
    "seed_access",
]

# Project permissions the simulator knows (key -> name), as `GET mypermissions` lists them.
PERMISSIONS = {
    "BROWSE_PROJECTS": "Browse Projects",
    "CREATE_ISSUES": "Create Issues",
    "EDIT_ISSUES": "Edit Issues",
    "TRANSITION_ISSUES": "Transition Issues",
    "RESOLVE_ISSUES": "Resolve Issues",
    "ASSIGN_ISSUES": "Assign Issues",
    "ADD_COMMENTS": "Add Comments",
    "DELETE_ISSUES": "Delete Issues",
    "LINK_ISSUES": "Link Issues",
}

HolderType = Literal["anyone", "role", "group", "user"]
SERVICE_DESK_TEAM = "Service Desk Team"


@dataclass(frozen=True, slots=True)
class ProjectRole:
    id: int
    name: str
    description: str


# The roles of a fresh DC instance with Jira Service Management installed (ids as Jira's).
ROLES = (
    ProjectRole(10002, "Administrators", "A project role that represents administrators"),
    ProjectRole(10001, "Developers", "A project role that represents developers in a project"),
    ProjectRole(10000, "Users", "A project role that represents users in a project"),
    ProjectRole(10100, SERVICE_DESK_TEAM, "Members of the service desk team (agents)"),
    ProjectRole(10101, "Service Desk Customers", "Customers of the service desk"),
)


@dataclass(frozen=True, slots=True)
class Grant:
    """One holder of a permission in a scheme: ``anyone`` (logged in), a role (by name), a
    group or a user (login name)."""

    type: HolderType
    value: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"type": self.type, "value": self.value}


@dataclass(frozen=True, slots=True)
class Actor:
    """A role actor: a user (login name) or a group."""

    type: Literal["user", "group"]
    name: str


@dataclass(frozen=True, slots=True)
class RequestType:
    id: str
    name: str
    description: str
    issue_type_id: str


@dataclass(slots=True)
class ServiceDesk:
    id: str
    project_id: str
    request_types: list[RequestType] = field(default_factory=list)


def open_scheme() -> dict[str, list[Grant]]:
    """Jira's default scheme as the simulator seeds it: every permission to anyone logged in."""
    return {p: [Grant("anyone")] for p in PERMISSIONS}


# What JSM's "Service Desk Customer - Portal Access" gives customers besides the agents.
_CUSTOMER_PERMISSIONS = frozenset({"BROWSE_PROJECTS", "CREATE_ISSUES", "ADD_COMMENTS"})


def agent_scheme() -> dict[str, list[Grant]]:
    """A service desk project's scheme: agents (Service Desk Team) and administrators hold
    everything; customers may browse, raise requests and comment."""
    scheme = {
        p: [Grant("role", SERVICE_DESK_TEAM), Grant("role", "Administrators")] for p in PERMISSIONS
    }
    for p in _CUSTOMER_PERMISSIONS:
        scheme[p].append(Grant("role", "Service Desk Customers"))
    return scheme


class ProjectAccess:
    """Schemes, role actors and service desks of every project (by project id)."""

    def __init__(self) -> None:
        self.roles: dict[int, ProjectRole] = {r.id: r for r in ROLES}
        self.schemes: dict[str, dict[str, list[Grant]]] = {}
        self.actors: dict[tuple[str, int], list[Actor]] = {}
        self.service_desks: dict[str, ServiceDesk] = {}  # service desk id -> desk
        self._defaults: dict[str, Callable[[], dict[str, list[Grant]]]] = {}

    def add_project(
        self,
        project_id: str,
        scheme: Callable[[], dict[str, list[Grant]]],
        actors: dict[str, list[Actor]] | None = None,
    ) -> None:
        self._defaults[project_id] = scheme
        self.schemes[project_id] = scheme()
        for role_name, members in (actors or {}).items():
            role = self.role(role_name)
            assert role is not None, role_name
            self.actors[(project_id, role.id)] = list(members)

    def reset_scheme(self, project_id: str) -> None:
        make = self._defaults.get(project_id, open_scheme)
        self.schemes[project_id] = make()

    def role(self, ref: str | int) -> ProjectRole | None:
        """By id or name (case-insensitive)."""
        text = str(ref)
        if text.isdigit() and int(text) in self.roles:
            return self.roles[int(text)]
        wanted = text.casefold()
        return next((r for r in self.roles.values() if r.name.casefold() == wanted), None)

    def actors_of(self, project_id: str, role_id: int) -> list[Actor]:
        return self.actors.setdefault((project_id, role_id), [])

    def in_role(self, project_id: str, role_id: int, user_name: str, groups: Iterable[str]) -> bool:
        member_of = {g.casefold() for g in groups}
        return any(
            (a.type == "user" and a.name == user_name)
            or (a.type == "group" and a.name.casefold() in member_of)
            for a in self.actors.get((project_id, role_id), [])
        )

    def holds(self, project_id: str, permission: str, user_name: str, groups: list[str]) -> bool:
        """Does the scheme of the project grant ``permission`` to this user?"""
        grants = self.schemes.get(project_id, open_scheme()).get(permission, [])
        member_of = {g.casefold() for g in groups}
        for grant in grants:
            if grant.type == "anyone":
                return True
            if grant.type == "user" and grant.value == user_name:
                return True
            if grant.type == "group" and (grant.value or "").casefold() in member_of:
                return True
            if grant.type == "role":
                role = self.role(grant.value or "")
                if role is not None and self.in_role(project_id, role.id, user_name, groups):
                    return True
        return False

    def desk_of_project(self, project_id: str) -> ServiceDesk | None:
        return next((d for d in self.service_desks.values() if d.project_id == project_id), None)


# The seeded service desk project: Jira Service Management's "IT Help Desk" template.
JSM_PROJECT_ID, JSM_PROJECT_KEY = "10001", "HELP"
JSM_DESK_ID = "1"


def seed_access(catalog: Catalog, access: ProjectAccess, integration_user: str) -> None:
    """Every project open to anyone logged in, and one service desk project (HELP) whose
    agents are the administrators and ``integration_user`` (the login pdjira uses)."""
    for project_id in catalog.projects:
        access.add_project(
            project_id,
            open_scheme,
            {"Administrators": [Actor("group", "jira-administrators")]},
        )
    catalog.projects[JSM_PROJECT_ID] = Project(
        JSM_PROJECT_ID, JSM_PROJECT_KEY, "IT Help Desk", "JIRAUSER10000", ("10005", "10002")
    )
    access.add_project(
        JSM_PROJECT_ID,
        agent_scheme,
        {
            "Administrators": [Actor("group", "jira-administrators")],
            SERVICE_DESK_TEAM: [Actor("user", "admin"), Actor("user", integration_user)],
            "Service Desk Customers": [Actor("group", "jira-software-users")],
        },
    )
    access.service_desks[JSM_DESK_ID] = ServiceDesk(
        JSM_DESK_ID,
        JSM_PROJECT_ID,
        [
            RequestType("1", "Get IT help", "Get assistance for general IT problems.", "10002"),
            RequestType("2", "Report a system problem", "Tell us about an outage.", "10005"),
        ],
    )
