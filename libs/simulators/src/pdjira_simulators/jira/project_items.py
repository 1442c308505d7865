"""Per-project components and versions, issue link types and issue links. No I/O.

Issues refer to components and versions by id; the REST API accepts them by id or name (names
within the issue's project), as Jira does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = [
    "Component",
    "IssueLink",
    "LinkType",
    "ProjectItems",
    "Version",
]


@dataclass(slots=True)
class Component:
    id: str
    project_id: str
    name: str
    description: str = ""
    lead_key: str | None = None
    assignee_type: str = "PROJECT_DEFAULT"


@dataclass(slots=True)
class Version:
    id: str
    project_id: str
    name: str
    description: str = ""
    released: bool = False
    archived: bool = False
    release_date: date | None = None
    start_date: date | None = None


@dataclass(frozen=True, slots=True)
class LinkType:
    id: str
    name: str
    inward: str
    outward: str


@dataclass(frozen=True, slots=True)
class IssueLink:
    """`outward_id` <outward> `inward_id` (e.g. OPS-1 blocks OPS-2: outward OPS-1)."""

    id: str
    type_id: str
    outward_id: str
    inward_id: str


# The link types of a fresh Jira DC instance (ids as Jira seeds them).
LINK_TYPES = (
    LinkType("10000", "Blocks", "is blocked by", "blocks"),
    LinkType("10001", "Cloners", "is cloned by", "clones"),
    LinkType("10002", "Duplicate", "is duplicated by", "duplicates"),
    LinkType("10003", "Relates", "relates to", "relates to"),
)


def _ref(raw: Any) -> tuple[str | None, str | None]:
    """(id, name) of a `{"id": ...}` / `{"name": ...}` reference."""
    if not isinstance(raw, dict):
        return None, None
    rid, name = raw.get("id"), raw.get("name")
    return (str(rid) if rid is not None else None), (str(name) if name is not None else None)


class ProjectItems:
    """Components, versions, link types and links of the whole instance."""

    def __init__(self) -> None:
        self.components: dict[str, Component] = {}
        self.versions: dict[str, Version] = {}
        self.link_types: dict[str, LinkType] = {t.id: t for t in LINK_TYPES}
        self.links: dict[str, IssueLink] = {}
        self._next_component = 10000
        self._next_version = 10000
        self._next_link = 10000

    # ----- components and versions --------------------------------------------------------

    def add_component(self, project_id: str, name: str, **extra: Any) -> Component:
        component = Component(str(self._next_component), project_id, name, **extra)
        self._next_component += 1
        self.components[component.id] = component
        return component

    def add_version(self, project_id: str, name: str, **extra: Any) -> Version:
        version = Version(str(self._next_version), project_id, name, **extra)
        self._next_version += 1
        self.versions[version.id] = version
        return version

    def components_of(self, project_id: str) -> list[Component]:
        return [c for c in self.components.values() if c.project_id == project_id]

    def versions_of(self, project_id: str) -> list[Version]:
        return [v for v in self.versions.values() if v.project_id == project_id]

    def component_ids(
        self, project_id: str, raw: Any, field_id: str, errors: dict[str, str]
    ) -> list[str] | None:
        """`[{"id": ...} | {"name": ...}]` -> component ids, or an error as Jira words it."""
        if not isinstance(raw, list):
            errors[field_id] = "data was not an array"
            return None
        found: list[str] = []
        for item in raw:
            rid, name = _ref(item)
            hit = next(
                (
                    c
                    for c in self.components_of(project_id)
                    if (rid is not None and c.id == rid)
                    or (rid is None and name is not None and c.name.lower() == name.lower())
                ),
                None,
            )
            if hit is None:
                errors[field_id] = (
                    f"Component id '{rid}' is not valid"
                    if rid is not None
                    else f"Component name '{name}' is not valid"
                )
                return None
            if hit.id not in found:
                found.append(hit.id)
        return found

    def version_ids(
        self, project_id: str, raw: Any, field_id: str, errors: dict[str, str]
    ) -> list[str] | None:
        """`[{"id": ...} | {"name": ...}]` -> version ids, or an error as Jira words it."""
        if not isinstance(raw, list):
            errors[field_id] = "data was not an array"
            return None
        found: list[str] = []
        for item in raw:
            rid, name = _ref(item)
            hit = next(
                (
                    v
                    for v in self.versions_of(project_id)
                    if (rid is not None and v.id == rid)
                    or (rid is None and name is not None and v.name == name)
                ),
                None,
            )
            if hit is None:
                errors[field_id] = (
                    f"Version id '{rid}' is not valid"
                    if rid is not None
                    else f"Version name '{name}' is not valid"
                )
                return None
            if hit.id not in found:
                found.append(hit.id)
        return found

    # ----- issue links --------------------------------------------------------------------

    def link_type(self, ref: Any) -> LinkType | None:
        rid, name = _ref(ref)
        if rid is not None:
            return self.link_types.get(rid)
        wanted = (name or "").lower()
        return next((t for t in self.link_types.values() if t.name.lower() == wanted), None)

    def link(self, type_id: str, outward_id: str, inward_id: str) -> IssueLink:
        """Create the link, or return the same one if it exists (Jira keeps one per pair)."""
        existing = next(
            (
                lk
                for lk in self.links.values()
                if (lk.type_id, lk.outward_id, lk.inward_id) == (type_id, outward_id, inward_id)
            ),
            None,
        )
        if existing is not None:
            return existing
        created = IssueLink(str(self._next_link), type_id, outward_id, inward_id)
        self._next_link += 1
        self.links[created.id] = created
        return created

    def links_of(self, issue_id: str) -> list[IssueLink]:
        return [lk for lk in self.links.values() if issue_id in (lk.outward_id, lk.inward_id)]

    def forget_issue(self, issue_id: str) -> None:
        for lk in self.links_of(issue_id):
            del self.links[lk.id]


def seed_ops(items: ProjectItems, project_id: str, lead_key: str) -> None:
    """OPS's components and versions, as a team running services would have them."""
    items.add_component(project_id, "API", description="The public API", lead_key=lead_key)
    items.add_component(project_id, "Database", description="Primary and replicas")
    items.add_component(project_id, "Frontend", description="Web and mobile clients")
    items.add_version(
        project_id,
        "1.0",
        description="First release",
        released=True,
        release_date=date(2026, 1, 15),
    )
    items.add_version(
        project_id, "1.1", description="Next release", release_date=date(2026, 12, 31)
    )
    items.add_version(project_id, "2.0", description="Later")
