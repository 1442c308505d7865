"""Workflows as data: a graph of statuses and transitions, per project and issue type.

The REST API only ever shows the transitions available from the current status (as Jira
does); the graph itself is installed by tests through `PUT /_sim/workflow`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pdjira_simulators.jira.catalog import Catalog

__all__ = [
    "ScreenField",
    "Transition",
    "Workflow",
    "WorkflowScheme",
    "default_workflow",
    "parse_workflow",
]


@dataclass(frozen=True, slots=True)
class ScreenField:
    """A field on the transition screen; only these may be set by the transition."""

    field_id: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Transition:
    """`from_status_ids` empty = a global transition (available from every other status)."""

    id: str
    name: str
    to_status_id: str
    from_status_ids: tuple[str, ...] = ()
    fields: tuple[ScreenField, ...] = ()
    auto_resolution_id: str | None = None  # post-function: set when not given on the screen
    clears_resolution: bool = False
    event_type: str = "issue_generic"

    def available_from(self, status_id: str) -> bool:
        if not self.from_status_ids:
            return status_id != self.to_status_id
        return status_id in self.from_status_ids

    def screen(self) -> Mapping[str, ScreenField]:
        return {f.field_id: f for f in self.fields}


@dataclass(frozen=True, slots=True)
class Workflow:
    name: str
    initial_status_id: str
    status_ids: tuple[str, ...]
    transitions: tuple[Transition, ...]

    def available(self, status_id: str) -> list[Transition]:
        return [t for t in self.transitions if t.available_from(status_id)]

    def find(self, transition_id: str) -> Transition | None:
        return next((t for t in self.transitions if t.id == transition_id), None)


def default_workflow() -> Workflow:
    """Jira's simplified "To Do / In Progress / Done" workflow, as the brief describes it."""
    todo, progress, done = "10000", "3", "10001"
    resolution_screen = (ScreenField("resolution"),)
    return Workflow(
        name="OPS: Simplified Workflow",
        initial_status_id=todo,
        status_ids=(todo, progress, done),
        transitions=(
            Transition("11", "Start Progress", progress, (todo,), event_type="issue_work_started"),
            Transition(
                "21",
                "Done",
                done,
                (todo,),
                resolution_screen,
                auto_resolution_id="10000",
                event_type="issue_resolved",
            ),
            Transition(
                "31",
                "Done",
                done,
                (progress,),
                resolution_screen,
                auto_resolution_id="10000",
                event_type="issue_resolved",
            ),
            Transition(
                "41", "Reopen", todo, (done,), clears_resolution=True, event_type="issue_reopened"
            ),
            Transition("51", "Stop Progress", todo, (progress,), event_type="issue_work_stopped"),
        ),
    )


class WorkflowScheme:
    """Which workflow applies to (project, issue type); falls back to the project's, then
    the default."""

    def __init__(self) -> None:
        self._default = default_workflow()
        self._by_key: dict[tuple[str, str | None], Workflow] = {}

    def install(self, project_id: str, issue_type_id: str | None, workflow: Workflow) -> None:
        self._by_key[(project_id, issue_type_id)] = workflow

    def reset(self) -> None:
        self._by_key.clear()

    def for_issue(self, project_id: str, issue_type_id: str) -> Workflow:
        return (
            self._by_key.get((project_id, issue_type_id))
            or self._by_key.get((project_id, None))
            or self._default
        )


def _status_id(catalog: Catalog, ref: Any) -> str:
    """A status name or id, or `{"name", "category"}` to create a new status."""
    if isinstance(ref, dict):
        name, category = ref.get("name"), ref.get("category", "indeterminate")
        if not isinstance(name, str) or not isinstance(category, str):
            raise ValueError("a new status needs a name and a category")
        return catalog.add_status(name, category).id
    status = catalog.statuses.get(str(ref))
    if status is None:
        raise ValueError(f"unknown status {ref!r}")
    return status.id


def parse_workflow(body: Any, catalog: Catalog) -> tuple[str, str | None, Workflow]:
    """`PUT /_sim/workflow` body -> (project id, issue type id or None, workflow).

    {"project": "OPS", "issuetype": "Incident"?, "name"?: str,
     "statuses": ["To Do", {"name": "Triage", "category": "new"}, ...],
     "initial_status": "To Do",
     "transitions": [{"id": "11", "name": "Start", "from": ["To Do"] (omit = global),
                      "to": "In Progress",
                      "fields": {"resolution": {"required": true}, "customfield_10100": {}},
                      "resolution": "Done" (set when not given), "clear_resolution": false,
                      "event": "issue_generic"}]}
    """
    if not isinstance(body, dict):
        raise ValueError("body must be an object")
    project = catalog.project(str(body.get("project", "")))
    if project is None:
        raise ValueError(f"unknown project {body.get('project')!r}")
    issue_type_id = None
    if body.get("issuetype") is not None:
        issue_type = catalog.issue_types.get(str(body["issuetype"]))
        if issue_type is None:
            raise ValueError(f"unknown issue type {body['issuetype']!r}")
        issue_type_id = issue_type.id
    raw_statuses = body.get("statuses")
    if not isinstance(raw_statuses, list) or not raw_statuses:
        raise ValueError("statuses must be a non-empty list")
    status_ids = tuple(_status_id(catalog, s) for s in raw_statuses)
    initial = _status_id(catalog, body.get("initial_status", raw_statuses[0]))
    if initial not in status_ids:
        raise ValueError("initial_status must be one of statuses")
    transitions = []
    raw_transitions = body.get("transitions")
    if not isinstance(raw_transitions, list):
        raise ValueError("transitions must be a list")
    for i, raw in enumerate(raw_transitions):
        if not isinstance(raw, dict):
            raise ValueError(f"transitions[{i}] must be an object")
        tid = str(raw.get("id", 11 + 10 * i))
        if not tid.isdigit():
            raise ValueError(f"transitions[{i}].id must be numeric")
        to = _status_id(catalog, raw.get("to"))
        sources = tuple(_status_id(catalog, s) for s in raw.get("from") or [])
        if to not in status_ids or any(s not in status_ids for s in sources):
            raise ValueError(f"transitions[{i}] uses a status outside the workflow")
        fields_raw = raw.get("fields") or {}
        if not isinstance(fields_raw, dict):
            raise ValueError(f"transitions[{i}].fields must be an object")
        fields = []
        for field_id, spec in fields_raw.items():
            if field_id not in catalog.fields:
                raise ValueError(f"transitions[{i}]: unknown field {field_id!r}")
            required = bool(spec.get("required")) if isinstance(spec, dict) else bool(spec)
            fields.append(ScreenField(field_id, required))
        resolution_id = None
        if raw.get("resolution") is not None:
            resolution = catalog.resolutions.get(str(raw["resolution"]))
            if resolution is None:
                raise ValueError(f"transitions[{i}]: unknown resolution")
            resolution_id = resolution.id
        transitions.append(
            Transition(
                id=tid,
                name=str(raw.get("name") or catalog.statuses.items[to].name),
                to_status_id=to,
                from_status_ids=sources,
                fields=tuple(fields),
                auto_resolution_id=resolution_id,
                clears_resolution=bool(raw.get("clear_resolution", False)),
                event_type=str(raw.get("event") or "issue_generic"),
            )
        )
    if len({t.id for t in transitions}) != len(transitions):
        raise ValueError("transition ids must be unique")
    name = str(body.get("name") or f"{project.key} workflow")
    return project.id, issue_type_id, Workflow(name, initial, status_ids, tuple(transitions))
