"""JQL against the issue store: value validation like Jira, matching, ordering."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

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

__all__ = ["IssueSubject", "env_for", "matches", "search", "validate"]


class IssueSubject:
    """Adapts an Issue to what the JQL evaluator asks for."""

    def __init__(self, issue: Issue, catalog: Catalog) -> None:
        self.issue = issue
        self.catalog = catalog

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
        if field.startswith("customfield_"):
            value = issue.custom.get(field)
            if value is None:
                return []
            items = value if isinstance(value, list) else [value]
            return [frozenset({str(v).lower()}) for v in items]
        return []

    def _user(self, key: str) -> frozenset[str]:
        u = self.catalog.user_by_key(key)
        return frozenset({u.name.lower(), u.key.lower(), u.email.lower()})

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
            return str(issue.custom.get(field) or "")
        return " ".join([issue.summary, issue.description or "", *(c.body for c in issue.comments)])

    def timestamp(self, field: str) -> datetime | None:
        return {
            "created": self.issue.created,
            "updated": self.issue.updated,
            "resolutiondate": self.issue.resolution_date,
        }.get(field)


def validate(query: jql.Query, state: JiraState) -> None:
    """Jira rejects values that do not exist (a typo'd status is a 400, not 0 results)."""
    cat = state.catalog
    lookups: dict[str, Callable[[str], object]] = {
        "project": cat.project,
        "status": cat.statuses.get,
        "issuetype": cat.issue_types.get,
        "priority": cat.priorities.get,
        "resolution": cat.resolutions.get,
        "assignee": cat.user,
        "reporter": cat.user,
        "creator": cat.user,
    }
    env = env_for(state, None)
    for clause in jql.clauses(query.where):
        if clause.field.startswith("customfield_") and clause.field not in cat.fields:
            raise jql.JqlError(
                f"Field '{clause.field}' does not exist or you do not have permission to view it."
            )
        for func in jql.functions(clause):
            if func.name == "membersOf":
                env.members(func.args[0])  # raises Jira's error for an unknown group
        checks: list[tuple[str, str | None]] = [
            (clause.field, v) for v in clause.values if isinstance(v, str)
        ]
        for predicate in clause.predicates:
            for value in predicate.values:
                if not isinstance(value, str):
                    continue
                if predicate.kind in ("from", "to"):
                    checks.append((clause.field, value))
                elif predicate.kind == "by":
                    checks.append(("by", value))
                else:
                    checks.append(("date", value))
        for field, value in checks:
            assert value is not None
            if field == "date":
                jql.parse_date(value, state.now())
                continue
            if field == "by":
                if cat.user(value) is None:
                    raise jql.JqlError(f"The user '{value}' does not exist.")
                continue
            missing_key = state.issue_by_key(value) is None and value not in state.issues
            if field == "key" and missing_key:
                raise jql.JqlError(f"An issue with key '{value}' does not exist for field 'key'.")
            lookup = lookups.get(field)
            if lookup is not None and lookup(value) is None:
                raise jql.JqlError(f"The value '{value}' does not exist for the field '{field}'.")
            if field in jql.DATE_FIELDS and clause.op not in ("is", "is not"):
                jql.parse_date(value, state.now())


def env_for(state: JiraState, user: JiraUser | None) -> jql.Env:
    """What JQL functions see: the searching user (currentUser()) and the groups."""
    return jql.Env(current_user=user.name if user else None, groups=state.catalog.groups)


def matches(query: jql.Query, issue: Issue, state: JiraState, user: JiraUser | None = None) -> bool:
    return jql.evaluate(
        query.where, IssueSubject(issue, state.catalog), state.now, env_for(state, user)
    )


def _sort_key(issue: Issue, field: str, state: JiraState) -> tuple[int, float, str]:
    """Comparable per field; missing values sort last."""
    if field == "key":
        return (0, float(issue.id), "")
    if field in jql.DATE_FIELDS:
        stamp = IssueSubject(issue, state.catalog).timestamp(field)
        return (0, stamp.timestamp(), "") if stamp else (1, 0.0, "")
    if field == "priority":
        # Highest has the lowest id; "ORDER BY priority DESC" lists it first.
        return (0, -float(issue.priority_id), "") if issue.priority_id else (1, 0.0, "")
    values = IssueSubject(issue, state.catalog).values(field)
    return (0, 0.0, min(min(v) for v in values)) if values else (1, 0.0, "")


def search(text: str, state: JiraState, user: JiraUser | None = None) -> list[Issue]:
    """Parse, validate, filter, order as ``user`` (currentUser()). Raises JqlError for
    anything Jira would reject."""
    query = jql.parse(text)
    validate(query, state)
    # One "now" and one Env for the whole search (not per issue).
    now = state.now()
    env = env_for(state, user)
    found = [
        i
        for i in state.issues.values()
        if jql.evaluate(query.where, IssueSubject(i, state.catalog), lambda: now, env)
    ]
    # Without ORDER BY the simulator keeps creation order: stable and easy to assert on.
    found.sort(key=lambda i: int(i.id))
    for sort in reversed(query.order_by):  # stable sorts, last key first
        field = sort.field
        found.sort(key=lambda i: _sort_key(i, field, state), reverse=not sort.ascending)
    return found
