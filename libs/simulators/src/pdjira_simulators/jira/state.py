"""In-memory Jira issues and the rules that change them. No I/O.

Every mutation records a changelog group and returns the webhook events it causes; the app
renders them (a snapshot at event time) and queues the deliveries.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from pdjira_simulators.jira.catalog import Catalog, JiraUser, Project
from pdjira_simulators.jira.errors import JiraError, field_errors, not_found
from pdjira_simulators.jira.project_items import ProjectItems, seed_ops
from pdjira_simulators.jira.workflow import Transition, WorkflowScheme

__all__ = [
    "ChangeGroup",
    "ChangeItem",
    "Comment",
    "Issue",
    "IssueEvent",
    "JiraState",
    "RemoteLink",
]

CANNOT_SET = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
DEFAULT_ROLES = frozenset({"Administrators", "Developers", "Users"})
EDITABLE = frozenset(
    {
        "summary",
        "description",
        "labels",
        "priority",
        "assignee",
        "reporter",
        "components",
        "fixVersions",
        "versions",
        "duedate",
    }
)
# Multi-value fields: the issue attribute and the changelog's field name (Server names them).
MULTI = {
    "components": ("component_ids", "Component"),
    "fixVersions": ("fix_version_ids", "Fix Version"),
    "versions": ("version_ids", "Version"),
}


@dataclass(slots=True)
class ChangeItem:
    field: str
    fieldtype: str
    from_: str | None
    from_string: str | None
    to: str | None
    to_string: str | None


@dataclass(slots=True)
class ChangeGroup:
    id: str
    author_key: str
    created: datetime
    items: list[ChangeItem]


@dataclass(slots=True)
class Comment:
    id: str
    author_key: str
    body: str
    created: datetime
    updated: datetime
    update_author_key: str
    visibility: dict[str, str] | None = None
    properties: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class RemoteLink:
    id: int
    global_id: str | None
    application: dict[str, Any]
    relationship: str | None
    object: dict[str, Any]


@dataclass(slots=True)
class Issue:
    id: str
    key: str
    project_id: str
    issuetype_id: str
    summary: str
    description: str | None
    priority_id: str | None
    labels: list[str]
    status_id: str
    resolution_id: str | None
    resolution_date: datetime | None
    assignee_key: str | None
    reporter_key: str
    creator_key: str
    created: datetime
    updated: datetime
    custom: dict[str, Any] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    remote_links: list[RemoteLink] = field(default_factory=list)
    changelog: list[ChangeGroup] = field(default_factory=list)
    component_ids: list[str] = field(default_factory=list)
    fix_version_ids: list[str] = field(default_factory=list)
    version_ids: list[str] = field(default_factory=list)
    duedate: date | None = None
    watcher_keys: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """One webhook-worthy event; `webhook_event` is Jira's `webhookEvent` name."""

    webhook_event: str
    issue_event_type_name: str | None
    issue_id: str
    user_key: str
    timestamp: datetime
    changelog: ChangeGroup | None = None
    comment_id: str | None = None
    # The comment as it was, for events about a comment that is gone (deleted).
    comment: Comment | None = None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _labels_string(labels: Sequence[str]) -> str | None:
    return " ".join(labels) if labels else None


def _label_ops(current: Sequence[str], ops: Sequence[Any]) -> list[str]:
    """`update.labels`: `[{"add": x}, {"remove": y}, {"set": [...]}]` applied in order."""
    labels = list(current)
    for op in ops:
        if not isinstance(op, dict):
            continue
        if "add" in op and op["add"] not in labels:
            labels.append(str(op["add"]))
        if "remove" in op and op["remove"] in labels:
            labels.remove(op["remove"])
        if "set" in op and isinstance(op["set"], list):
            labels = [str(x) for x in op["set"]]
    return labels


def _scratch(issue: Issue) -> Issue:
    """A copy to try an edit on (the lists an edit changes are copied)."""
    return replace(
        issue,
        custom=dict(issue.custom),
        labels=list(issue.labels),
        component_ids=list(issue.component_ids),
        fix_version_ids=list(issue.fix_version_ids),
        version_ids=list(issue.version_ids),
    )


class JiraState:
    """All issues of the instance plus its catalog and workflow scheme."""

    def __init__(
        self, *, seed: int | None = None, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self.catalog = Catalog()
        self.workflows = WorkflowScheme()
        self.issues: dict[str, Issue] = {}
        self._by_key: dict[str, str] = {}
        self._rng = random.Random(seed)
        self._clock = clock
        self._next_issue_id = 10000
        self._next_comment_id = 10000
        self._next_change_id = 10000
        self._next_link_id = 10000
        self.items = ProjectItems()
        self._extra_items: list[ChangeItem] = []  # _set_multi's second and later items
        ops = self.catalog.project("OPS")
        if ops is not None:
            seed_ops(self.items, ops.id, ops.lead_key)
        # Project roles live with the permission schemes; the simulator plugs its look-up in.
        self.role_exists: Callable[[str], bool] = lambda name: name in DEFAULT_ROLES
        # (project id, role name, user) -> is the user in that project role?
        self.in_role: Callable[[str, str, JiraUser], bool] = lambda project_id, role, user: True

    def now(self) -> datetime:
        return self._clock()

    def new_uuid(self) -> str:
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    # ----- look-ups -----------------------------------------------------------------------

    def issue(self, id_or_key: str) -> Issue:
        issue_id = id_or_key if id_or_key in self.issues else self._by_key.get(id_or_key.upper())
        if issue_id is None:
            raise not_found()
        return self.issues[issue_id]

    def issue_by_key(self, key: str) -> Issue | None:
        issue_id = self._by_key.get(key.upper())
        return self.issues.get(issue_id) if issue_id else None

    def project_of(self, issue: Issue) -> Project:
        return self.catalog.projects[issue.project_id]

    def available_transitions(self, issue: Issue) -> list[Transition]:
        workflow = self.workflows.for_issue(issue.project_id, issue.issuetype_id)
        return workflow.available(issue.status_id)

    def required_on_create(self, project: Project, issue_type_id: str) -> tuple[str, ...]:
        return project.required_on_create.get(issue_type_id, ())

    # ----- field values -------------------------------------------------------------------

    def _user_ref(self, raw: Any, field_id: str, errors: dict[str, str]) -> JiraUser | None:
        if raw is None:
            return None
        name = raw.get("name") or raw.get("key") if isinstance(raw, dict) else None
        user = self.catalog.user(str(name)) if name else None
        if user is None:
            errors[field_id] = f"User '{name}' does not exist."
        return user

    def _set_field(
        self, issue: Issue, field_id: str, raw: Any, errors: dict[str, str]
    ) -> ChangeItem | None:
        """Validate and apply one field; return the changelog item when the value changed."""
        cat = self.catalog
        if field_id == "summary":
            if not isinstance(raw, str) or not raw.strip():
                errors["summary"] = "You must specify a summary of the issue."
            elif "\n" in raw or "\r" in raw:
                errors["summary"] = "The summary is invalid because it contains newline characters."
            elif raw != issue.summary:
                old, issue.summary = issue.summary, raw
                return ChangeItem("summary", "jira", None, old, None, raw)
            return None
        if field_id == "description":
            if raw is not None and not isinstance(raw, str):
                errors["description"] = "Operation value must be a string"
            elif raw != issue.description:
                old_d, issue.description = issue.description, raw
                return ChangeItem("description", "jira", None, old_d, None, raw)
            return None
        if field_id == "labels":
            if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
                errors["labels"] = "Labels must be an array of strings."
                return None
            bad = next((x for x in raw if " " in x), None)
            if bad is not None:
                errors["labels"] = f"The label '{bad}' contains spaces which is invalid."
                return None
            return self._set_labels(issue, list(dict.fromkeys(raw)))
        if field_id == "priority":
            ref = raw.get("id") or raw.get("name") if isinstance(raw, dict) else None
            priority = cat.priorities.get(str(ref)) if ref else None
            if priority is None:
                errors["priority"] = f"Priority '{ref}' is not valid"
                return None
            if priority.id != issue.priority_id:
                old_p = cat.priorities.get(issue.priority_id) if issue.priority_id else None
                issue.priority_id = priority.id
                return ChangeItem(
                    "priority",
                    "jira",
                    old_p.id if old_p else None,
                    old_p.name if old_p else None,
                    priority.id,
                    priority.name,
                )
            return None
        if field_id in ("assignee", "reporter"):
            user = self._user_ref(raw, field_id, errors)
            if field_id in errors:
                return None
            if field_id == "reporter" and user is None:
                errors["reporter"] = "Reporter is required."
                return None
            old_key = issue.assignee_key if field_id == "assignee" else issue.reporter_key
            new_key = user.key if user else None
            if new_key == old_key:
                return None
            if field_id == "assignee":
                issue.assignee_key = new_key
            elif new_key is not None:
                issue.reporter_key = new_key
            old_user = cat.user_by_key(old_key) if old_key else None
            return ChangeItem(
                field_id,
                "jira",
                old_key,
                old_user.display_name if old_user else None,
                new_key,
                user.display_name if user else None,
            )
        if field_id == "resolution":
            ref = raw.get("id") or raw.get("name") if isinstance(raw, dict) else None
            resolution = cat.resolutions.get(str(ref)) if ref else None
            if raw is not None and resolution is None:
                errors["resolution"] = f"Resolution '{ref}' is not valid"
                return None
            return self._set_resolution(issue, resolution.id if resolution else None)
        if field_id in MULTI:
            ids = self._multi_ids(issue, field_id, raw, errors)
            return None if ids is None else self._set_multi(issue, field_id, ids)
        if field_id == "duedate":
            return self._set_duedate(issue, raw, errors)
        if field_id.startswith("customfield_") and field_id in cat.fields:
            old_c = issue.custom.get(field_id)
            if raw == old_c:
                return None
            if raw is None:
                issue.custom.pop(field_id, None)
            else:
                issue.custom[field_id] = raw
            return ChangeItem(
                cat.field_name(field_id),
                "custom",
                None,
                None if old_c is None else str(old_c),
                None,
                None if raw is None else str(raw),
            )
        errors[field_id] = CANNOT_SET.format(field_id)
        return None

    def _multi_ids(
        self, issue: Issue, field_id: str, raw: Any, errors: dict[str, str]
    ) -> list[str] | None:
        if raw is None:
            raw = []
        if field_id == "components":
            return self.items.component_ids(issue.project_id, raw, field_id, errors)
        return self.items.version_ids(issue.project_id, raw, field_id, errors)

    def _multi_name(self, field_id: str, item_id: str) -> str:
        if field_id == "components":
            return self.items.components[item_id].name
        return self.items.versions[item_id].name

    def _set_multi(self, issue: Issue, field_id: str, ids: list[str]) -> ChangeItem | None:
        """Components and versions; Server logs one item per value added or removed (the
        first is returned here, the rest wait in `_extra_items` for `_drain`)."""
        attr, label = MULTI[field_id]
        old: list[str] = getattr(issue, attr)
        if ids == old:
            return None
        setattr(issue, attr, list(ids))
        removed = [i for i in old if i not in ids]
        added = [i for i in ids if i not in old]
        items = [
            ChangeItem(label, "jira", i, self._multi_name(field_id, i), None, None) for i in removed
        ] + [ChangeItem(label, "jira", None, None, i, self._multi_name(field_id, i)) for i in added]
        self._extra_items.extend(items[1:])
        return items[0] if items else None

    def _multi_ops(
        self, issue: Issue, field_id: str, ops: Sequence[Any], errors: dict[str, str]
    ) -> ChangeItem | None:
        """`update.components` (and versions): `add` / `remove` / `set`, in order."""
        attr, _ = MULTI[field_id]
        ids: list[str] = list(getattr(issue, attr))
        for op in ops:
            if not isinstance(op, dict):
                continue
            for verb in ("set", "add", "remove"):
                if verb not in op:
                    continue
                raw = op[verb] if verb == "set" else [op[verb]]
                found = self._multi_ids(issue, field_id, raw, errors)
                if found is None:
                    return None
                if verb == "set":
                    ids = found
                elif verb == "add":
                    ids += [i for i in found if i not in ids]
                else:
                    ids = [i for i in ids if i not in found]
        return self._set_multi(issue, field_id, ids)

    def _set_duedate(self, issue: Issue, raw: Any, errors: dict[str, str]) -> ChangeItem | None:
        """`duedate`: `yyyy-MM-dd` or null, as the REST API takes it."""
        due: date | None = None
        if raw is not None and raw != "":
            if not isinstance(raw, str):
                errors["duedate"] = "Operation value must be a string"
                return None
            try:
                due = date.fromisoformat(raw) if len(raw) == 10 else None
            except ValueError:
                due = None
            if due is None:
                errors["duedate"] = f"Error parsing date string: {raw}"
                return None
        if due == issue.duedate:
            return None
        old, issue.duedate = issue.duedate, due

        def shown(d: date | None) -> str | None:
            return f"{d.isoformat()} 00:00:00.0" if d else None

        return ChangeItem(
            "duedate",
            "jira",
            old.isoformat() if old else None,
            shown(old),
            due.isoformat() if due else None,
            shown(due),
        )

    def _set_labels(self, issue: Issue, labels: list[str]) -> ChangeItem | None:
        if labels == issue.labels:
            return None
        old, issue.labels = issue.labels, labels
        return ChangeItem("labels", "jira", None, _labels_string(old), None, _labels_string(labels))

    def _set_resolution(self, issue: Issue, resolution_id: str | None) -> ChangeItem | None:
        if resolution_id == issue.resolution_id:
            return None
        cat = self.catalog
        old = cat.resolutions.get(issue.resolution_id) if issue.resolution_id else None
        new = cat.resolutions.get(resolution_id) if resolution_id else None
        issue.resolution_id = resolution_id
        issue.resolution_date = self.now() if resolution_id else None
        return ChangeItem(
            "resolution",
            "jira",
            old.id if old else None,
            old.name if old else None,
            new.id if new else None,
            new.name if new else None,
        )

    def _drain(self, item: ChangeItem | None) -> list[ChangeItem]:
        found = ([item] if item is not None else []) + self._extra_items
        self._extra_items.clear()
        return found

    def _record(self, issue: Issue, actor: JiraUser, items: list[ChangeItem]) -> ChangeGroup:
        group = ChangeGroup(str(self._next_change_id), actor.key, self.now(), items)
        self._next_change_id += 1
        issue.changelog.append(group)
        issue.updated = group.created
        return group

    # ----- mutations ----------------------------------------------------------------------

    def create_issue(
        self,
        actor: JiraUser,
        fields: Mapping[str, Any],
        properties: Sequence[Any] = (),
    ) -> tuple[Issue, list[IssueEvent]]:
        cat = self.catalog
        errors: dict[str, str] = {}
        project_ref = fields.get("project")
        ref = (
            project_ref.get("key") or project_ref.get("id")
            if isinstance(project_ref, dict)
            else None
        )
        project = cat.project(str(ref)) if ref else None
        if project is None:
            errors["project"] = (
                "project is required" if ref is None else ("valid project is required")
            )
        type_ref = fields.get("issuetype")
        tref = type_ref.get("id") or type_ref.get("name") if isinstance(type_ref, dict) else None
        issue_type = cat.issue_types.get(str(tref)) if tref else None
        if issue_type is None or (project and issue_type.id not in project.issue_type_ids):
            errors["issuetype"] = (
                "valid issue type is required" if tref else ("issue type is required")
            )
        if not isinstance(fields.get("summary"), str) or not str(fields["summary"]).strip():
            errors["summary"] = "You must specify a summary of the issue."
        if errors:
            raise field_errors(errors)
        assert project is not None
        assert issue_type is not None
        for required in self.required_on_create(project, issue_type.id):
            if fields.get(required) in (None, "", []):
                errors[required] = f"{cat.field_name(required)} is required."
        now = self.now()
        workflow = self.workflows.for_issue(project.id, issue_type.id)
        issue = Issue(
            id=str(self._next_issue_id),
            key=f"{project.key}-{project.next_issue_number}",
            project_id=project.id,
            issuetype_id=issue_type.id,
            summary="",
            description=None,
            priority_id=cat.default_priority_id,
            labels=[],
            status_id=workflow.initial_status_id,
            resolution_id=None,
            resolution_date=None,
            assignee_key=None,
            reporter_key=actor.key,
            creator_key=actor.key,
            created=now,
            updated=now,
        )
        for field_id, raw in fields.items():
            if field_id in ("project", "issuetype"):
                continue
            if field_id not in EDITABLE and not field_id.startswith("customfield_"):
                errors[field_id] = CANNOT_SET.format(field_id)
                continue
            self._set_field(issue, field_id, raw, errors)
        self._extra_items.clear()  # a create has no changelog
        props = self._parse_properties(properties, errors)
        if errors:
            raise field_errors(errors)
        issue.properties.update(props)
        issue.watcher_keys.append(issue.reporter_key)  # Jira's default: reporters watch
        self._next_issue_id += 1
        project.next_issue_number += 1
        self.issues[issue.id] = issue
        self._by_key[issue.key] = issue.id
        return issue, [IssueEvent("jira:issue_created", "issue_created", issue.id, actor.key, now)]

    @staticmethod
    def _parse_properties(properties: Sequence[Any], errors: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for prop in properties:
            if not isinstance(prop, dict) or not isinstance(prop.get("key"), str):
                errors["properties"] = "Each property needs a key and a value."
                continue
            if len(prop["key"]) > 255:
                errors["properties"] = "The property key is too long."
                continue
            result[prop["key"]] = prop.get("value")
        return result

    def edit_issue(
        self,
        actor: JiraUser,
        issue: Issue,
        fields: Mapping[str, Any],
        update: Mapping[str, Any] | None = None,
    ) -> list[IssueEvent]:
        """PUT /issue: `fields` set values, `update` applies verbs (labels add/remove,
        comment add). Status cannot be changed here, only by a transition. All or nothing:
        the edit is tried on a copy first, so a 400 leaves the issue untouched."""
        errors: dict[str, str] = {}
        scratch = _scratch(issue)
        self._apply_edit(scratch, fields, update or {}, errors, actor=actor)
        self._extra_items.clear()
        if errors:
            raise field_errors(errors)
        items, comment_bodies = self._apply_edit(issue, fields, update or {}, errors, actor=actor)
        events: list[IssueEvent] = []
        if items:
            group = self._record(issue, actor, items)
            only_assignee = all(i.field == "assignee" for i in items)
            kind = "issue_assigned" if only_assignee else "issue_updated"
            # Like Jira Server: an edit that carries a comment fires ONE issue event with both
            # the changelog and the comment (plus the standalone comment_created).
            events.extend(self._changed_with_comment(actor, issue, kind, group, comment_bodies))
            comment_bodies = comment_bodies[1:]
        for body, visibility in comment_bodies:
            events.extend(self.add_comment(actor, issue, body, visibility)[1])
        return events

    def _changed_with_comment(
        self,
        actor: JiraUser,
        issue: Issue,
        kind: str,
        group: ChangeGroup,
        comment_bodies: Sequence[tuple[str, dict[str, str] | None]],
    ) -> list[IssueEvent]:
        comment = self._new_comment(actor, issue, *comment_bodies[0]) if comment_bodies else None
        event = IssueEvent(
            "jira:issue_updated",
            kind,
            issue.id,
            actor.key,
            group.created,
            changelog=group,
            comment_id=comment.id if comment else None,
        )
        if comment is None:
            return [event]
        standalone = IssueEvent(
            "comment_created", None, issue.id, actor.key, comment.created, comment_id=comment.id
        )
        return [event, standalone]

    def _apply_edit(
        self,
        issue: Issue,
        fields: Mapping[str, Any],
        update: Mapping[str, Any],
        errors: dict[str, str],
        *,
        actor: JiraUser | None = None,
    ) -> tuple[list[ChangeItem], list[tuple[str, dict[str, str] | None]]]:
        items: list[ChangeItem] = []

        def keep(item: ChangeItem | None) -> None:
            items.extend(self._drain(item))

        for field_id, raw in fields.items():
            if field_id not in EDITABLE and not field_id.startswith("customfield_"):
                errors[field_id] = CANNOT_SET.format(field_id)
                continue
            keep(self._set_field(issue, field_id, raw, errors))
        comment_bodies: list[tuple[str, dict[str, str] | None]] = []
        for field_id, ops in update.items():
            if not isinstance(ops, list):
                errors[field_id] = "Operations must be a list"
            elif field_id == "labels":
                keep(self._set_labels(issue, _label_ops(issue.labels, ops)))
            elif field_id == "comment":
                comment_bodies.extend(self._comment_ops(ops, errors, actor, issue.project_id))
            elif field_id in MULTI:
                keep(self._multi_ops(issue, field_id, ops, errors))
            elif field_id in EDITABLE or field_id.startswith("customfield_"):
                for op in ops:
                    if isinstance(op, dict) and "set" in op:
                        keep(self._set_field(issue, field_id, op["set"], errors))
            else:
                errors[field_id] = CANNOT_SET.format(field_id)
        return items, comment_bodies

    def transition(
        self,
        actor: JiraUser,
        issue: Issue,
        transition_id: str,
        fields: Mapping[str, Any] | None = None,
        update: Mapping[str, Any] | None = None,
    ) -> list[IssueEvent]:
        transition = next(
            (t for t in self.available_transitions(issue) if t.id == transition_id), None
        )
        if transition is None:
            raise JiraError(400, [f"Transition id '{transition_id}' is not valid for this issue."])
        screen = transition.screen()
        given = dict(fields or {})
        errors: dict[str, str] = {}
        for field_id in given:
            if field_id not in screen:
                errors[field_id] = CANNOT_SET.format(field_id)
        for field_id, spec in screen.items():
            if spec.required and given.get(field_id) in (None, "", []):
                errors[field_id] = f"{self.catalog.field_name(field_id)} is required."
        comment_ops = (update or {}).get("comment", []) or []
        comment_bodies = self._comment_ops(
            comment_ops if isinstance(comment_ops, list) else [], errors, actor, issue.project_id
        )
        if errors:
            raise field_errors(errors)
        # Validate field values on a scratch copy first so a 400 leaves the issue untouched.
        scratch = _scratch(issue)
        for field_id, raw in given.items():
            self._set_field(scratch, field_id, raw, errors)
        self._extra_items.clear()
        if errors:
            raise field_errors(errors)

        cat = self.catalog
        old_status = cat.statuses.items[issue.status_id]
        new_status = cat.statuses.items[transition.to_status_id]
        items = [
            ChangeItem(
                "status", "jira", old_status.id, old_status.name, new_status.id, new_status.name
            )
        ]
        issue.status_id = new_status.id
        for field_id, raw in given.items():
            items.extend(self._drain(self._set_field(issue, field_id, raw, errors)))
        if transition.clears_resolution:
            item = self._set_resolution(issue, None)
            if item is not None:
                items.append(item)
        elif transition.auto_resolution_id and "resolution" not in given:
            item = self._set_resolution(issue, transition.auto_resolution_id)
            if item is not None:
                items.append(item)
        group = self._record(issue, actor, items)
        # One webhook for the transition, its comment included (as Jira Server sends it).
        events = self._changed_with_comment(
            actor, issue, transition.event_type, group, comment_bodies
        )
        for body, visibility in comment_bodies[1:]:
            events.extend(self.add_comment(actor, issue, body, visibility)[1])
        return events

    def _comment_ops(
        self,
        ops: Sequence[Any],
        errors: dict[str, str],
        author: JiraUser | None,
        project_id: str,
    ) -> list[tuple[str, dict[str, str] | None]]:
        """`update.comment`: `[{"add": {"body": ..., "visibility"?: {...}}}]`, validated."""
        bodies: list[tuple[str, dict[str, str] | None]] = []
        for op in ops:
            add = op.get("add") if isinstance(op, dict) else None
            if not isinstance(add, dict) or not isinstance(add.get("body"), str):
                continue
            if not add["body"].strip():
                errors["comment"] = "Comment body can not be empty!"
                continue
            visibility = self.check_visibility(
                add.get("visibility"), errors, author=author, project_id=project_id
            )
            bodies.append((add["body"], visibility))
        return bodies

    def check_visibility(
        self,
        raw: Any,
        errors: dict[str, str],
        *,
        author: JiraUser | None = None,
        project_id: str | None = None,
    ) -> dict[str, str] | None:
        """A comment's `visibility`: a project role or a group that exists and the author
        belongs to (Jira's 400s)."""
        if raw is None:
            return None
        kind = raw.get("type") if isinstance(raw, dict) else None
        value = raw.get("value") if isinstance(raw, dict) else None
        if kind not in ("role", "group") or not isinstance(value, str) or not value:
            errors["commentLevel"] = (
                "Visibility needs a type ('role' or 'group') and a value (the role or group name)."
            )
            return None
        if kind == "group" and self.catalog.group(value) is None:
            errors["commentLevel"] = f"Group: {value} does not exist."
            return None
        if kind == "role" and not self.role_exists(value):
            errors["commentLevel"] = f"Role: {value} does not exist."
            return None
        if author is not None:
            group = self.catalog.group(value)
            if kind == "group" and group not in self.catalog.groups_of(author):
                errors["commentLevel"] = f"You are currently not a member of the group: {value}."
                return None
            if kind == "role" and project_id and not self.in_role(project_id, value, author):
                errors["commentLevel"] = (
                    f"You are currently not a member of the project role: {value}."
                )
                return None
        return {"type": kind, "value": value}

    def _new_comment(
        self,
        actor: JiraUser,
        issue: Issue,
        body: str,
        visibility: dict[str, str] | None = None,
        properties: Sequence[dict[str, Any]] = (),
    ) -> Comment:
        now = self.now()
        comment = Comment(
            str(self._next_comment_id),
            actor.key,
            body,
            now,
            now,
            actor.key,
            visibility,
            list(properties),
        )
        self._next_comment_id += 1
        issue.comments.append(comment)
        issue.updated = now
        return comment

    def add_comment(
        self,
        actor: JiraUser,
        issue: Issue,
        body: str,
        visibility: dict[str, str] | None = None,
        properties: Sequence[dict[str, Any]] = (),
    ) -> tuple[Comment, list[IssueEvent]]:
        if not body.strip():
            raise field_errors({"comment": "Comment body can not be empty!"})
        comment = self._new_comment(actor, issue, body, visibility, properties)
        now = comment.created
        # Server sends both: issue_updated/issue_commented (with the issue) and the
        # standalone comment_created (without it).
        return comment, [
            IssueEvent(
                "jira:issue_updated",
                "issue_commented",
                issue.id,
                actor.key,
                now,
                comment_id=comment.id,
            ),
            IssueEvent("comment_created", None, issue.id, actor.key, now, comment_id=comment.id),
        ]

    def edit_comment(
        self, actor: JiraUser, issue: Issue, comment: Comment, body: str
    ) -> list[IssueEvent]:
        if not body.strip():
            raise field_errors({"comment": "Comment body can not be empty!"})
        if body == comment.body:
            return []
        now = self.now()
        comment.body = body
        comment.updated = now
        comment.update_author_key = actor.key
        issue.updated = now
        return [
            IssueEvent(
                "jira:issue_updated",
                "issue_comment_edited",
                issue.id,
                actor.key,
                now,
                comment_id=comment.id,
            ),
            IssueEvent("comment_updated", None, issue.id, actor.key, now, comment_id=comment.id),
        ]

    def delete_comment(self, actor: JiraUser, issue: Issue, comment: Comment) -> list[IssueEvent]:
        issue.comments.remove(comment)
        now = self.now()
        issue.updated = now
        return [
            IssueEvent(
                "jira:issue_updated",
                "issue_comment_deleted",
                issue.id,
                actor.key,
                now,
                comment_id=comment.id,
                comment=comment,
            ),
            IssueEvent(
                "comment_deleted",
                None,
                issue.id,
                actor.key,
                now,
                comment_id=comment.id,
                comment=comment,
            ),
        ]

    def comment(self, issue: Issue, comment_id: str) -> Comment:
        found = next((c for c in issue.comments if c.id == comment_id), None)
        if found is None:
            raise not_found(f"Can not find a comment for the id: {comment_id}.")
        return found

    def delete_issue(self, actor: JiraUser, issue: Issue) -> list[IssueEvent]:
        del self.issues[issue.id]
        del self._by_key[issue.key]
        self.items.forget_issue(issue.id)
        return [IssueEvent("jira:issue_deleted", "issue_deleted", issue.id, actor.key, self.now())]

    def upsert_remote_link(self, issue: Issue, body: Mapping[str, Any]) -> tuple[RemoteLink, bool]:
        """Create, or update the link with the same globalId (the natural idempotency key)."""
        obj = body.get("object")
        if not isinstance(obj, dict) or not obj.get("url") or not obj.get("title"):
            raise field_errors({"object": "Link object with url and title is required."})
        global_id = body.get("globalId")
        application = body.get("application") if isinstance(body.get("application"), dict) else {}
        relationship = body.get("relationship")
        existing = next(
            (link for link in issue.remote_links if global_id and link.global_id == global_id),
            None,
        )
        if existing is not None:
            existing.application = dict(application or {})
            existing.relationship = relationship if isinstance(relationship, str) else None
            existing.object = dict(obj)
            issue.updated = self.now()
            return existing, False
        link = RemoteLink(
            self._next_link_id,
            global_id if isinstance(global_id, str) else None,
            dict(application or {}),
            relationship if isinstance(relationship, str) else None,
            dict(obj),
        )
        self._next_link_id += 1
        issue.remote_links.append(link)
        issue.updated = self.now()
        return link, True
