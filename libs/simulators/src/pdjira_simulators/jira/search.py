"""JQL against the issue store: value validation like Jira, matching, ordering."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from pdjira_jql import Clause, HistoryClause
from pdjira_jql.summary import clauses as leaf_clauses

from pdjira_simulators.jira import jql
from pdjira_simulators.jira.catalog import (
    CATEGORIES,
    Catalog,
    JiraUser,
    Priority,
    Resolution,
    Status,
)
from pdjira_simulators.jira.state import Issue, JiraState

__all__ = ["IssueSubject", "compile_query", "env_for", "matches", "search", "validate"]

# Issue attribute per multi-value field (components and versions; read defensively: the
# issue model may not carry them).
_MULTI = {
    "components": "component_ids",
    "fixVersions": "fix_version_ids",
    "versions": "version_ids",
}
_TEXT_TYPES = ("textarea", "textfield")


def _items(state: JiraState, fid: str) -> dict[str, Any]:
    """id -> component / version of the instance (empty when the simulator has none)."""
    items = getattr(state, "items", None)
    found = getattr(items, "components" if fid == "components" else "versions", None)
    return found if isinstance(found, dict) else {}


class IssueSubject:
    """Adapts an Issue to what the JQL evaluator asks for."""

    def __init__(self, issue: Issue, state: JiraState) -> None:
        self.issue = issue
        self.state = state
        self.catalog: Catalog = state.catalog

    def values(self, field: str) -> Sequence[frozenset[str]]:
        issue, cat = self.issue, self.catalog
        if field == "key":
            return [frozenset({issue.key.lower(), issue.id})]
        if field == "project":
            p = cat.projects[issue.project_id]
            return [frozenset({p.key.lower(), p.id, p.name.lower()})]
        if field == "labels":
            return [frozenset({label.lower()}) for label in issue.labels]
        if field == "status":
            s = cat.statuses.items[issue.status_id]
            return [frozenset({s.name.lower(), s.id})]
        if field == "statuscategory":
            s = cat.statuses.items[issue.status_id]
            c = CATEGORIES[s.category]
            return [frozenset({c.key, c.name.lower(), str(c.id)})]
        if field == "issuetype":
            t = cat.issue_types.items[issue.issuetype_id]
            return [frozenset({t.name.lower(), t.id})]
        if field == "priority":
            if issue.priority_id is None:
                return []
            pr = cat.priorities.items[issue.priority_id]
            return [frozenset({pr.name.lower(), pr.id})]
        if field == "resolution":
            if issue.resolution_id is None:
                return []
            r = cat.resolutions.items[issue.resolution_id]
            return [frozenset({r.name.lower(), r.id})]
        if field in ("assignee", "reporter", "creator"):
            key = {
                "assignee": issue.assignee_key,
                "reporter": issue.reporter_key,
                "creator": issue.creator_key,
            }[field]
            return [] if key is None else [self._user(key)]
        if field in _MULTI:
            known = _items(self.state, field)
            out = []
            for item_id in getattr(issue, _MULTI[field], None) or []:
                item = known.get(str(item_id))
                name = str(getattr(item, "name", item_id))
                out.append(frozenset({str(item_id), name.lower()}))
            return out
        if field.startswith("customfield_"):
            value = issue.custom.get(field)
            if value is None:
                return []
            items = value if isinstance(value, list) else [value]
            return [frozenset({_custom_text(v).lower()}) for v in items]
        return []

    def _user(self, key: str) -> frozenset[str]:
        u = self.catalog.user_by_key(key)
        return _user_ids(u)

    def _identities(self, field: str, raw: str | None) -> frozenset[str]:
        """A changelog `from`/`to` (an id, or a user key) as the identities JQL matches on."""
        if raw is None:
            return frozenset()
        cat = self.catalog
        if field in ("assignee", "reporter"):
            return self._user(raw)
        item: Status | Priority | Resolution | None = None
        if field == "status":
            item = cat.statuses.get(raw)
        elif field == "priority":
            item = cat.priorities.get(raw)
        elif field == "resolution":
            item = cat.resolutions.get(raw)
        return frozenset({item.name.lower(), item.id}) if item else frozenset({raw.lower()})

    def changes(self, field: str) -> Sequence[jql.Change]:
        """From the issue's changelog (the simulator keeps every change group)."""
        return [
            jql.Change(
                self._identities(field, item.from_),
                self._identities(field, item.to),
                group.created,
                self._user(group.author_key),
            )
            for group in self.issue.changelog
            for item in group.items
            if item.field == field
        ]

    def creator(self) -> frozenset[str]:
        return self._user(self.issue.creator_key)

    def text(self, field: str) -> str:
        issue = self.issue
        if field == "summary":
            return issue.summary
        if field == "description":
            return issue.description or ""
        if field == "comment":
            return " ".join(c.body for c in issue.comments)
        if field.startswith("customfield_"):
            return _custom_text(issue.custom.get(field))
        # `text`: summary, description, environment, comments and every text custom field.
        texts = [issue.summary, issue.description or "", *(c.body for c in issue.comments)]
        texts += [_custom_text(issue.custom.get(f)) for f in _text_custom_ids(self.catalog)]
        return " ".join(t for t in texts if t)

    def timestamp(self, field: str) -> datetime | None:
        return {
            "created": self.issue.created,
            "updated": self.issue.updated,
            "resolutiondate": self.issue.resolution_date,
        }.get(field)

    def rank(self, field: str) -> tuple[str, int] | None:
        issue = self.issue
        if field == "key":
            return issue.project_id, int(issue.key.rpartition("-")[2])
        if field == "priority" and issue.priority_id is not None:
            return "", _priority_ranks(self.catalog)[issue.priority_id]
        return None


def _custom_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):  # option fields: {"value": ...}
        return str(value.get("value") or value.get("name") or "")
    return str(value)


def _user_ids(u: JiraUser) -> frozenset[str]:
    """Jira finds a user by login name, key, e-mail or full name (display name)."""
    return frozenset({u.name.lower(), u.key.lower(), u.email.lower(), u.display_name.lower()})


def find_user(cat: Catalog, value: str) -> JiraUser | None:
    wanted = value.lower()
    return cat.user(value) or next(
        (u for u in cat.users.values() if wanted == u.display_name.lower()), None
    )


def _text_custom_ids(cat: Catalog) -> list[str]:
    return [c.id for c in custom_fields(cat) if c.text]


def custom_fields(cat: Catalog) -> tuple[jql.CustomField, ...]:
    out = []
    for f in cat.fields.values():
        if f.custom:
            kind = str(f.schema.get("custom") or "").rpartition(":")[2]
            out.append(jql.CustomField(f.id, f.name, kind in _TEXT_TYPES))
    return tuple(out)


def _priority_ranks(cat: Catalog) -> dict[str, int]:
    """Priority id and lower-case name -> rank: the scheme lists the most urgent first."""
    ordered = list(cat.priorities)
    ranks: dict[str, int] = {}
    for i, p in enumerate(ordered):
        ranks[p.id] = ranks[p.name.lower()] = len(ordered) - i
    return ranks


def compile_query(text: str, state: JiraState) -> jql.Plan:
    """Parse with the instance's custom fields (names resolve, types decide operators)."""
    return jql.parse(text, custom_fields(state.catalog))


def _checks(clause: Clause | HistoryClause, fid: str) -> Iterator[tuple[str, str]]:
    """(kind, value) of every literal in a clause: kind is the field id, "by" or "date"."""
    for value in jql.values(clause.operand):
        yield fid, value
    if isinstance(clause, HistoryClause):
        for kind, operand in clause.predicates:
            for value in jql.values(operand):
                yield (fid if kind in ("from", "to") else "by" if kind == "by" else "date"), value


def validate(plan: jql.Plan, state: JiraState) -> None:
    """Jira rejects values that do not exist (a typo'd status is a 400, not 0 results)."""
    cat = state.catalog
    lookups: dict[str, Callable[[str], object]] = {
        "project": cat.project,
        "status": cat.statuses.get,
        "issuetype": cat.issue_types.get,
        "priority": cat.priorities.get,
        "resolution": lambda v: v.lower() == "unresolved" or cat.resolutions.get(v),
        "assignee": lambda v: find_user(cat, v),
        "reporter": lambda v: find_user(cat, v),
        "creator": lambda v: find_user(cat, v),
    }
    env = env_for(state, None)
    for clause in leaf_clauses(plan.where):
        fid = plan.fields[clause.field]
        name = jql.written(clause.field)
        for func in jql.functions(clause):
            if func.name.lower() == "membersof":
                env.members(func.args[0])  # raises Jira's error for an unknown group
        for kind, value in _checks(clause, fid):
            if kind == "date" or kind in jql.DATE_FIELDS:
                jql.parse_date(value, state.now())
            elif kind == "by":
                if find_user(cat, value) is None:
                    raise jql.JqlError(f"The user '{value}' does not exist.")
            elif kind == "key":
                if clause.op in jql.RELATIONAL:
                    if env.rank("key", value) is None:
                        raise jql.JqlError(
                            f"The issue key '{value}' for field '{name}' is invalid."
                        )
                elif state.issue_by_key(value) is None and value not in state.issues:
                    raise jql.JqlError(
                        f"An issue with key '{value}' does not exist for field '{name}'."
                    )
            elif kind in _MULTI:
                known = _items(state, kind)
                wanted = value.lower()
                if not any(
                    wanted in (i, str(getattr(item, "name", "")).lower())
                    for i, item in known.items()
                ):
                    raise jql.JqlError(
                        f"The value '{value}' does not exist for the field '{name}'."
                    )
            else:
                lookup = lookups.get(kind)
                if lookup is not None and not lookup(value):
                    raise jql.JqlError(
                        f"The value '{value}' does not exist for the field '{name}'."
                    )


def env_for(state: JiraState, user: JiraUser | None) -> jql.Env:
    """What JQL sees: the searching user (currentUser(), time zone), groups, orders."""
    cat = state.catalog
    return jql.Env(
        current_user=user.name if user else None,
        groups=cat.groups,
        time_zone=user.time_zone if user else "UTC",
        priority_ranks=_priority_ranks(cat),
        projects={p.key.lower(): p.id for p in cat.projects.values()},
    )


def matches(
    query: jql.Plan | str, issue: Issue, state: JiraState, user: JiraUser | None = None
) -> bool:
    text = query if isinstance(query, str) else query.query.text
    plan = compile_query(text, state)
    return jql.evaluate(plan, IssueSubject(issue, state), state.now, env_for(state, user))


# Jira's default direction per field when ORDER BY gives none (NavigableField's default sort
# order): newest first for dates, most urgent first for priority, ascending otherwise.
_DESCENDING_BY_DEFAULT = frozenset({"created", "updated", "resolutiondate", "priority"})


def _sort_key(issue: Issue, fid: str, state: JiraState) -> tuple[int, Any]:
    """Comparable per field (Jira's orders: priority, status, type and resolution by their
    scheme order, users by full name, keys by project then number); missing values last."""
    cat = state.catalog
    subject = IssueSubject(issue, state)
    if fid == "key":
        project = cat.projects[issue.project_id].key
        return (0, (project, int(issue.key.rpartition("-")[2])))
    if fid in jql.DATE_FIELDS:
        stamp = subject.timestamp(fid)
        return (0, stamp.timestamp()) if stamp else (1, 0.0)
    if fid == "priority":
        rank = subject.rank("priority")
        return (0, rank[1]) if rank else (1, 0)
    order_of: dict[str, list[str]] = {
        "status": [s.id for s in cat.statuses],
        "issuetype": [t.id for t in cat.issue_types],
        "resolution": [r.id for r in cat.resolutions],
    }
    if fid in order_of:
        current = {
            "status": issue.status_id,
            "issuetype": issue.issuetype_id,
            "resolution": issue.resolution_id,
        }[fid]
        return (0, order_of[fid].index(current)) if current is not None else (1, 0)
    if fid in ("assignee", "reporter", "creator"):
        key = getattr(issue, f"{fid}_key")
        return (0, cat.user_by_key(key).display_name.lower()) if key else (1, "")
    if fid == "project":
        return (0, cat.projects[issue.project_id].name.lower())
    if fid in ("summary", "description"):
        text = subject.text(fid)
        return (0, text.lower()) if text else (1, "")
    values = subject.values(fid)
    return (0, min(min(v) for v in values)) if values else (1, "")


def search(text: str, state: JiraState, user: JiraUser | None = None) -> list[Issue]:
    """Parse, validate, filter, order as ``user`` (currentUser(), time zone). Raises JqlError
    for anything Jira would reject."""
    plan = compile_query(text, state)
    validate(plan, state)
    # One "now" and one Env for the whole search (not per issue).
    now = state.now()
    env = env_for(state, user)
    found = [
        i
        for i in state.issues.values()
        if jql.evaluate(plan, IssueSubject(i, state), lambda: now, env)
    ]
    # Without ORDER BY the simulator keeps creation order: stable and easy to assert on.
    found.sort(key=lambda i: int(i.id))
    for sort in reversed(plan.query.order_by):  # stable sorts, last key first
        fid = plan.fields[sort.field]
        descending = sort.descending
        if descending is None:
            descending = fid in _DESCENDING_BY_DEFAULT
        found.sort(key=lambda i: _sort_key(i, fid, state), reverse=descending)
    return found
