"""JSON shapes of Jira Server/DC REST v2 objects and webhook payloads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pdjira_simulators.jira.catalog import (
    CATEGORIES,
    Catalog,
    FieldDef,
    IssueType,
    JiraUser,
    Priority,
    Project,
    Resolution,
    Status,
)
from pdjira_simulators.jira.state import ChangeGroup, ChangeItem, Comment, Issue, JiraState
from pdjira_simulators.jira.workflow import ScreenField, Transition

__all__ = [
    "changelog_json",
    "comment_json",
    "field_json",
    "field_meta_json",
    "issue_json",
    "issuetype_json",
    "jira_ts",
    "priority_json",
    "project_json",
    "resolution_json",
    "select_fields",
    "status_json",
    "transition_json",
    "user_json",
]

Json = dict[str, Any]
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def jira_ts(value: datetime | None) -> str | None:
    """Jira's timestamp format: `2019-06-04T00:15:17.234+0000`."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def _avatars(base: str, kind: str, owner: str) -> Json:
    return {
        f"{n}x{n}": f"{base}/secure/{kind}avatar?size={n}&ownerId={owner}" for n in (48, 24, 16, 32)
    }


def user_json(user: JiraUser, base: str) -> Json:
    return {
        "self": f"{base}/rest/api/2/user?username={user.name}",
        "key": user.key,
        "name": user.name,
        "emailAddress": user.email,
        "avatarUrls": _avatars(base, "user", user.name),
        "displayName": user.display_name,
        "active": user.active,
        "deleted": False,
        "timeZone": user.time_zone,
        "locale": "en_US",
    }


def status_json(status: Status, base: str) -> Json:
    category = CATEGORIES[status.category]
    return {
        "self": f"{base}/rest/api/2/status/{status.id}",
        "description": status.description,
        "iconUrl": f"{base}/images/icons/statuses/generic.png",
        "name": status.name,
        "id": status.id,
        "statusCategory": {
            "self": f"{base}/rest/api/2/statuscategory/{category.id}",
            "id": category.id,
            "key": category.key,
            "colorName": category.color,
            "name": category.name,
        },
    }


def priority_json(priority: Priority, base: str) -> Json:
    return {
        "self": f"{base}/rest/api/2/priority/{priority.id}",
        "statusColor": priority.color,
        "description": priority.description,
        "iconUrl": f"{base}/images/icons/priorities/{priority.name.lower()}.svg",
        "name": priority.name,
        "id": priority.id,
    }


def issuetype_json(issue_type: IssueType, base: str) -> Json:
    return {
        "self": f"{base}/rest/api/2/issuetype/{issue_type.id}",
        "id": issue_type.id,
        "description": issue_type.description,
        "iconUrl": f"{base}/secure/viewavatar?size=xsmall&avatarType=issuetype",
        "name": issue_type.name,
        "subtask": issue_type.subtask,
        "avatarId": 10300,
    }


def resolution_json(resolution: Resolution, base: str) -> Json:
    return {
        "self": f"{base}/rest/api/2/resolution/{resolution.id}",
        "id": resolution.id,
        "description": resolution.description,
        "name": resolution.name,
    }


def project_json(project: Project, base: str) -> Json:
    return {
        "self": f"{base}/rest/api/2/project/{project.id}",
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
        "avatarUrls": _avatars(base, "project", project.id),
    }


def comment_json(catalog: Catalog, issue: Issue, comment: Comment, base: str) -> Json:
    body: Json = {
        "self": f"{base}/rest/api/2/issue/{issue.id}/comment/{comment.id}",
        "id": comment.id,
        "author": user_json(catalog.user_by_key(comment.author_key), base),
        "body": comment.body,
        "updateAuthor": user_json(catalog.user_by_key(comment.update_author_key), base),
        "created": jira_ts(comment.created),
        "updated": jira_ts(comment.updated),
    }
    if comment.visibility:
        body["visibility"] = comment.visibility
    return body


def _fields(state: JiraState, issue: Issue, base: str) -> Json:
    cat = state.catalog
    priority = cat.priorities.items.get(issue.priority_id) if issue.priority_id else None
    resolution = cat.resolutions.items.get(issue.resolution_id) if issue.resolution_id else None
    fields: Json = {
        "summary": issue.summary,
        "description": issue.description,
        "issuetype": issuetype_json(cat.issue_types.items[issue.issuetype_id], base),
        "project": project_json(cat.projects[issue.project_id], base),
        "status": status_json(cat.statuses.items[issue.status_id], base),
        "priority": priority_json(priority, base) if priority else None,
        "resolution": resolution_json(resolution, base) if resolution else None,
        "resolutiondate": jira_ts(issue.resolution_date),
        "labels": list(issue.labels),
        "assignee": (
            user_json(cat.user_by_key(issue.assignee_key), base) if issue.assignee_key else None
        ),
        "reporter": user_json(cat.user_by_key(issue.reporter_key), base),
        "creator": user_json(cat.user_by_key(issue.creator_key), base),
        "created": jira_ts(issue.created),
        "updated": jira_ts(issue.updated),
        "lastViewed": None,
        "components": [],
        "fixVersions": [],
        "versions": [],
        "environment": None,
        "duedate": None,
        "watches": {
            "self": f"{base}/rest/api/2/issue/{issue.key}/watchers",
            "watchCount": 1,
            "isWatching": False,
        },
        "comment": {
            "comments": [comment_json(cat, issue, c, base) for c in issue.comments],
            "maxResults": len(issue.comments),
            "total": len(issue.comments),
            "startAt": 0,
        },
    }
    for fdef in cat.fields.values():
        if fdef.custom:
            fields[fdef.id] = issue.custom.get(fdef.id)
    return fields


def select_fields(fields: Json, spec: Iterable[str] | None, catalog: Catalog) -> Json:
    """The `fields` query parameter: `*all` (default), `*navigable`, names, `-name`."""
    wanted = [s.strip() for part in (spec or ["*all"]) for s in part.split(",") if s.strip()]
    if not wanted:
        wanted = ["*all"]
    include: set[str] = set()
    for name in wanted:
        if name == "*all":
            include |= set(fields)
        elif name == "*navigable":
            include |= {f for f in fields if f not in catalog.fields or catalog.fields[f].navigable}
        elif not name.startswith("-"):
            include.add(name)
    for name in wanted:
        if name.startswith("-"):
            include.discard(name[1:])
    return {k: v for k, v in fields.items() if k in include}


def changelog_item_json(item: ChangeItem) -> Json:
    # Server/DC changelog items carry no `fieldId`.
    return {
        "field": item.field,
        "fieldtype": item.fieldtype,
        "from": item.from_,
        "fromString": item.from_string,
        "to": item.to,
        "toString": item.to_string,
    }


def changelog_json(catalog: Catalog, group: ChangeGroup, base: str) -> Json:
    return {
        "id": group.id,
        "author": user_json(catalog.user_by_key(group.author_key), base),
        "created": jira_ts(group.created),
        "items": [changelog_item_json(i) for i in group.items],
    }


def issue_json(
    state: JiraState,
    issue: Issue,
    base: str,
    *,
    fields: Iterable[str] | None = None,
    expand: Iterable[str] = (),
    properties: Iterable[str] = (),
) -> Json:
    """IssueBean as `GET /rest/api/2/issue/{key}` answers it."""
    expand_set = {e.strip() for part in expand for e in part.split(",") if e.strip()}
    body: Json = {
        "expand": ISSUE_EXPAND,
        "id": issue.id,
        "self": f"{base}/rest/api/2/issue/{issue.id}",
        "key": issue.key,
        "fields": select_fields(_fields(state, issue, base), fields, state.catalog),
    }
    if "changelog" in expand_set:
        histories = [changelog_json(state.catalog, g, base) for g in issue.changelog]
        body["changelog"] = {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": histories,
        }
    if "transitions" in expand_set:
        body["transitions"] = [
            transition_json(state, t, base, with_fields=False)
            for t in state.available_transitions(issue)
        ]
    if "names" in expand_set:
        body["names"] = {f: state.catalog.field_name(f) for f in body["fields"]}
    wanted_props = {p.strip() for part in properties for p in part.split(",") if p.strip()}
    if wanted_props:
        body["properties"] = {
            k: v for k, v in issue.properties.items() if k in wanted_props or "*all" in wanted_props
        }
    return body


def field_meta_json(catalog: Catalog, field_id: str, required: bool, base: str) -> Json:
    """FieldMetaBean (createmeta and `expand=transitions.fields`)."""
    fdef = catalog.fields[field_id]
    meta: Json = {
        "required": required,
        "schema": fdef.schema,
        "name": fdef.name,
        "fieldId": fdef.id,
        "hasDefaultValue": field_id == "priority",
        "operations": ["set"],
    }
    if field_id == "resolution":
        meta["allowedValues"] = [resolution_json(r, base) for r in catalog.resolutions]
    elif field_id == "priority":
        meta["allowedValues"] = [priority_json(p, base) for p in catalog.priorities]
    elif field_id == "labels":
        meta["operations"] = ["add", "set", "remove"]
    return meta


def transition_json(
    state: JiraState, transition: Transition, base: str, *, with_fields: bool
) -> Json:
    body: Json = {
        "id": transition.id,
        "name": transition.name,
        "to": status_json(state.catalog.statuses.items[transition.to_status_id], base),
        "hasScreen": bool(transition.fields),
        "isGlobal": not transition.from_status_ids,
        "isInitial": False,
        "isConditional": False,
    }
    if with_fields:
        screen: tuple[ScreenField, ...] = transition.fields
        body["fields"] = {
            f.field_id: field_meta_json(state.catalog, f.field_id, f.required, base) for f in screen
        }
    return body


def field_json(fdef: FieldDef) -> Json:
    """`GET /rest/api/2/field` item."""
    body: Json = {
        "id": fdef.id,
        "name": fdef.name,
        "custom": fdef.custom,
        "orderable": fdef.id
        not in ("status", "created", "updated", "resolutiondate", "creator", "issuekey"),
        "navigable": fdef.navigable,
        "searchable": True,
        "clauseNames": [fdef.id]
        if not fdef.custom
        else [f"cf[{fdef.id.removeprefix('customfield_')}]", fdef.name],
        "schema": fdef.schema,
    }
    return body
