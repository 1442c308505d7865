"""The running Jira simulator: state plus users/tokens, webhooks, logs, faults, rate limit."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import msgspec
from starlette.requests import Request

from pdjira_simulators.common.ratelimit import TokenBucketLimiter
from pdjira_simulators.common.runtime import SimulatorCore
from pdjira_simulators.jira import jql
from pdjira_simulators.jira.access import PERMISSIONS, ProjectAccess, seed_access
from pdjira_simulators.jira.catalog import JiraUser
from pdjira_simulators.jira.search import compile_query, matches
from pdjira_simulators.jira.settings import JiraSettings
from pdjira_simulators.jira.state import Issue, IssueEvent, JiraState
from pdjira_simulators.jira.views import changelog_item_json, comment_json, issue_json, user_json
from pdjira_simulators.jira.webhooks import (
    ISSUE_EVENTS,
    JiraWebhookDispatcher,
    OutgoingJiraWebhook,
    Registration,
    substitute_url,
)

__all__ = ["PERMISSIONS", "SIM_WEBHOOK_NAME", "JiraSimulator", "RateLimitConfig"]

SIM_WEBHOOK_NAME = "pdjira simulator target"


class RateLimitConfig:
    """Jira DC rate limiting: off until an admin enables it; per-user exemptions."""

    def __init__(self) -> None:
        self.limiter: TokenBucketLimiter | None = None
        self.exempt: set[str] = set()

    def as_json(self) -> dict[str, object]:
        lim = self.limiter
        return {
            "enabled": lim is not None,
            "capacity": lim.capacity if lim else None,
            "fill_rate": lim.fill_rate if lim else None,
            "interval_seconds": lim.interval_seconds if lim else None,
            "exempt": sorted(self.exempt),
        }


class JiraSimulator(SimulatorCore[OutgoingJiraWebhook]):
    """Everything one simulated instance needs; handlers close over one instance."""

    def __init__(self, settings: JiraSettings) -> None:
        super().__init__("jira", settings)
        self.settings = settings
        self.state = JiraState(seed=settings.seed)
        self.ratelimit = RateLimitConfig()
        self.registrations: dict[int, Registration] = {}
        self._next_registration = 1
        self.tokens: dict[str, str] = {}  # PAT -> username
        # Project permissions per user name; a user not listed has them all.
        self.permissions: dict[str, frozenset[str]] = {}
        self.login_failures: dict[str, int] = {}
        self.dispatcher = JiraWebhookDispatcher(
            log=self.deliveries, faults=self.webhook_faults, timeout=settings.webhook_timeout
        )
        self._install_login(settings)
        self.access = ProjectAccess()
        seed_access(self.state.catalog, self.access, settings.username)
        self.state.role_exists = lambda name: self.access.role(name) is not None
        self.state.in_role = self._in_role
        for type_ref, field_id in settings.required_on_create:
            self.require_on_create("OPS", type_ref, [field_id], extend=True)
        if settings.webhook_url:
            self.set_webhook_target(settings.webhook_url, settings.webhook_secret)

    def _install_login(self, settings: JiraSettings) -> None:
        users = self.state.catalog.users
        existing = users.get(settings.username)
        if existing is not None:
            users[settings.username] = JiraUser(
                existing.key,
                existing.name,
                existing.email,
                existing.display_name,
                settings.password,
                time_zone=settings.time_zone,
            )
        else:
            added = self.add_user(
                settings.username,
                f"{settings.username}@example.com",
                settings.username,
                settings.password,
            )
            users[settings.username] = dataclasses.replace(added, time_zone=settings.time_zone)
        if settings.token:
            self.tokens[settings.token] = settings.username

    def has_permission(
        self, user: JiraUser, permission: str, project_id: str | None = None
    ) -> bool:
        """The user's restriction (``/_sim/permissions``), then, for a project, its scheme."""
        granted = self.permissions.get(user.name)
        if granted is not None and permission not in granted:
            return False
        if project_id is None:
            return True
        groups = self.state.catalog.groups_of(user)
        return self.access.holds(project_id, permission, user.name, groups)

    def _in_role(self, project_id: str, role_name: str, user: JiraUser) -> bool:
        role = self.access.role(role_name)
        groups = self.state.catalog.groups_of(user)
        return role is not None and self.access.in_role(project_id, role.id, user.name, groups)

    def captcha_required(self, username: str) -> bool:
        limit = self.settings.captcha_after
        return limit > 0 and self.login_failures.get(username, 0) >= limit

    def add_user(self, name: str, email: str, display_name: str, password: str) -> JiraUser:
        users = self.state.catalog.users
        key = f"JIRAUSER{10000 + 100 * len(users)}"
        user = JiraUser(key, name, email, display_name, password)
        users[name] = user
        # New users get application access through the default group, as in Jira.
        self.state.catalog.add_to_group("jira-software-users", user)
        return user

    def require_on_create(
        self, project_ref: str, type_ref: str, field_ids: Sequence[str], *, extend: bool = False
    ) -> None:
        """Make fields required at create for one project and issue type (createmeta shows
        them as `required: true`); raises ValueError for unknown names."""
        cat = self.state.catalog
        project, issue_type = cat.project(project_ref), cat.issue_types.get(type_ref)
        if project is None or issue_type is None:
            raise ValueError("project and issuetype must exist")
        unknown = [f for f in field_ids if f not in cat.fields]
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(unknown)}")
        current = project.required_on_create.get(issue_type.id, ()) if extend else ()
        project.required_on_create[issue_type.id] = tuple(dict.fromkeys([*current, *field_ids]))

    def authenticate(self, username: str, password: str) -> JiraUser | None:
        user = self.state.catalog.users.get(username)
        if user is None or not user.active or user.password != password:
            return None
        return user

    def base(self, request: Request) -> str:
        return self.settings.base_url or str(request.base_url).rstrip("/")

    # ----- webhook registrations ----------------------------------------------------------

    def register(self, reg: dict[str, Any]) -> Registration:
        now = self.state.now()
        registration = Registration(
            id=self._next_registration,
            name=str(reg.get("name") or ""),
            url=str(reg["url"]),
            events=tuple(str(e) for e in reg.get("events") or ISSUE_EVENTS),
            jql=reg.get("jql") or None,
            exclude_body=bool(reg.get("exclude_body", False)),
            secret=reg.get("secret") or None,
            active=bool(reg.get("active", True)),
            created=now,
            updated=now,
            description=str(reg.get("description") or ""),
        )
        if registration.jql:
            # Reject an invalid filter at registration, with the instance's custom fields
            # (an unknown field name is refused, as Jira does).
            compile_query(registration.jql, self.state)
        self._next_registration += 1
        self.registrations[registration.id] = registration
        return registration

    def set_webhook_target(
        self, url: str | None, secret: str | None, events: Sequence[str] | None = None
    ) -> Registration | None:
        for rid in [r.id for r in self.registrations.values() if r.name == SIM_WEBHOOK_NAME]:
            del self.registrations[rid]
        if not url:
            return None
        return self.register(
            {
                "name": SIM_WEBHOOK_NAME,
                "url": url,
                "secret": secret,
                "events": list(events or ISSUE_EVENTS),
            }
        )

    # ----- events -------------------------------------------------------------------------

    def emit(self, events: Sequence[IssueEvent], base: str, issue: Issue | None = None) -> None:
        """Render each event now (a snapshot) and queue it for every matching registration.

        `issue` is passed for events about an issue that is no longer in the store (deleted).
        """
        for event in events:
            subject = self.state.issues.get(event.issue_id) or issue
            if subject is None:
                continue
            targets = [
                r
                for r in self.registrations.values()
                if r.active and event.webhook_event in r.events and self._matches(r, subject)
            ]
            if not targets:
                continue
            body = msgspec.json.encode(self._payload(event, subject, base))
            event_id = self.state.new_uuid()
            project = self.state.catalog.projects[subject.project_id]
            user = self.state.catalog.user_by_key(event.user_key)
            variables = {
                "issue.id": subject.id,
                "issue.key": subject.key,
                "project.id": project.id,
                "project.key": project.key,
                "modifiedUser.name": user.name,
                "modifiedUser.key": user.key,
                "comment.id": event.comment_id or "",
            }
            for reg in targets:
                self.dispatcher.submit(
                    OutgoingJiraWebhook(
                        event_id=event_id,
                        event_type=event.webhook_event,
                        issue_key=subject.key,
                        registration_id=reg.id,
                        url=substitute_url(reg.url, variables),
                        body=b"" if reg.exclude_body else body,
                        secret=reg.secret,
                    )
                )

    def _matches(self, reg: Registration, issue: Issue) -> bool:
        if not reg.jql:
            return True
        try:
            return matches(compile_query(reg.jql, self.state), issue, self.state)
        except jql.JqlError:
            return False

    def _payload(self, event: IssueEvent, issue: Issue, base: str) -> dict[str, Any]:
        cat = self.state.catalog
        stamp = int(event.timestamp.timestamp() * 1000)
        comment = (
            comment_json(
                cat, issue, event.comment or self.state.comment(issue, event.comment_id), base
            )
            if event.comment_id
            else None
        )
        if event.webhook_event.startswith("comment_"):
            # Server's standalone comment events carry no issue (only comment.self has its id).
            return {"timestamp": stamp, "webhookEvent": event.webhook_event, "comment": comment}
        payload: dict[str, Any] = {
            "timestamp": stamp,
            "webhookEvent": event.webhook_event,
            "issue_event_type_name": event.issue_event_type_name,
            "user": user_json(cat.user_by_key(event.user_key), base),
            "issue": issue_json(self.state, issue, base),
        }
        if event.changelog is not None:
            payload["changelog"] = {
                "id": event.changelog.id,
                "items": [changelog_item_json(i) for i in event.changelog.items],
            }
        if comment is not None:
            payload["comment"] = comment
        return payload
