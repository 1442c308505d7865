"""Per-project components and versions, issue link types and issue links. No I/O.

Issues refer to components and versions by id; the REST API accepts them by id or name (names
within the issue's project), as Jira does.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def _item_ids(
    kind: str,
    candidates: Sequence[Component | Version],
    raw: Any,
    field_id: str,
    errors: dict[str, str],
    *,
    fold_case: bool,
) -> list[str] | None:
    """`[{"id": ...} | {"name": ...}]` -> ids among `candidates`, or an error as Jira words it
    (`kind` is "Component" or "Version")."""
    if not isinstance(raw, list):
        errors[field_id] = "data was not an array"
        return None
    found: list[str] = []
    for item in raw:
        rid, name = _ref(item)
        if rid is not None:
            hit = next((c for c in candidates if c.id == rid), None)
        elif name is not None:
            wanted = name.lower() if fold_case else name
            hit = next(
                (c for c in candidates if (c.name.lower() if fold_case else c.name) == wanted),
                None,
            )
        else:
            hit = None
        if hit is None:
            errors[field_id] = (
                f"{kind} id '{rid}' is not valid"
                if rid is not None
                else f"{kind} name '{name}' is not valid"
            )
            return None
        if hit.id not in found:
            found.append(hit.id)
    return found


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
        """`[{"id": ...} | {"name": ...}]` -> component ids (names match in any case)."""
        return _item_ids(
            "Component", self.components_of(project_id), raw, field_id, errors, fold_case=True
        )

    def version_ids(
        self, project_id: str, raw: Any, field_id: str, errors: dict[str, str]
    ) -> list[str] | None:
        """`[{"id": ...} | {"name": ...}]` -> version ids (names match exactly)."""
        return _item_ids(
            "Version", self.versions_of(project_id), raw, field_id, errors, fold_case=False
        )

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
