"""What exists in Jira and PagerDuty, read live from the writers, to validate rules against.

Jira: statuses, priorities, projects, issue types, resolutions and fields of the instance, and
the fields required on create for every project x issue type an ``autocreate_issues`` item
targets (createmeta). PagerDuty: services and priorities of the account, and the users the
rules name as responders (looked up one by one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Literal

import msgspec
from pdjira_common.requests import (
    JiraCatalogRead,
    JiraCreateMetaRead,
    JiraCreateMetaReply,
    JiraNamed,
    JiraNamesReply,
    JiraPrioritiesRead,
    JiraStatusesRead,
    PdCatalogRead,
    PdNamesReply,
    PdUserRead,
    PdUserReply,
    PdUserSearch,
    jira_read_subject,
    pd_read_subject,
)

from pdjira_rules.jql.operators import is_text_field_type
from pdjira_rules.reads import NatsReads, ReadFailed
from pdjira_rules.rule_model import (
    AutocreateIssueItem,
    IssueType,
    Project,
    Rule,
    RuleDecodeError,
    UserReference,
    action_param,
    enabled_actions,
    rule_items,
)
from pdjira_rules.rule_validation import JiraCatalog, JiraProject, Named, PdCatalog, find

__all__ = [
    "Catalogs",
    "Target",
    "create_targets",
    "fetch_jira_catalog",
    "fetch_pd_catalog",
    "responders_of",
]

KEY_RESPONDERS = "pd_add_responders"

Target = tuple[Project, IssueType]


def create_targets(rules: Iterable[Rule]) -> list[Target]:
    """Every (project, issue type) an ``autocreate_issues`` item may create an issue in."""
    found: list[Target] = []
    for rule in rules:
        for _, item in rule_items(rule):
            if not isinstance(item, AutocreateIssueItem):
                continue
            projects = (item.target_project,) if item.target_project else rule.config.projects
            types = (item.target_issue_type,) if item.target_issue_type else rule.config.issue_types
            found.extend((p, t) for p in projects for t in types)
    return found


def _named(items: Sequence[JiraNamed]) -> tuple[Named, ...]:
    return tuple(Named(id=i.id, name=i.name, key=i.key) for i in items)


async def fetch_jira_catalog(
    reads: NatsReads, instance: str, targets: Sequence[Target] = ()
) -> JiraCatalog:
    """The instance's catalog, createmeta of ``targets`` included; ReadFailed if a read fails."""

    async def names(what: str, message: msgspec.Struct) -> tuple[JiraNamed, ...]:
        reply = await reads.ask(jira_read_subject(instance, what), message, JiraNamesReply)
        return reply.items

    def catalog(
        what: Literal["projects", "issue_types", "resolutions", "fields"],
    ) -> JiraCatalogRead:
        return JiraCatalogRead(instance=instance, what=what)

    statuses, priorities, projects, issue_types, resolutions, fields = await asyncio.gather(
        names("statuses", JiraStatusesRead(instance=instance)),
        names("priorities", JiraPrioritiesRead(instance=instance)),
        names("projects", catalog("projects")),
        names("issue_types", catalog("issue_types")),
        names("resolutions", catalog("resolutions")),
        names("fields", catalog("fields")),
    )
    jira_projects = tuple(JiraProject(id=p.id, key=p.key or p.id, name=p.name) for p in projects)
    types = _named(issue_types)
    pairs: dict[tuple[str, str], None] = {}
    for project_ref, type_ref in targets:
        project = find(jira_projects, project_ref.id, project_ref.key, project_ref.label)
        issue_type = find(types, type_ref.id, type_ref.label)
        if project is not None and issue_type is not None:  # else validation names it
            pairs[(project.key or project.id, issue_type.name)] = None

    async def required(project_key: str, type_name: str) -> tuple[str, str, tuple[str, ...]]:
        reply = await reads.ask(
            jira_read_subject(instance, "createmeta"),
            JiraCreateMetaRead(instance=instance, project=project_key, issue_type=type_name),
            JiraCreateMetaReply,
        )
        return project_key, type_name, tuple(f.id for f in reply.fields if f.required)

    required_fields: dict[str, dict[str, tuple[str, ...]]] = {}
    for project_key, type_name, ids in await asyncio.gather(*(required(p, t) for p, t in pairs)):
        required_fields.setdefault(project_key, {})[type_name] = ids
    return JiraCatalog(
        statuses=_named(statuses),
        priorities=_named(priorities),
        projects=jira_projects,
        issue_types=types,
        resolutions=_named(resolutions),
        required_fields=required_fields,
        fields={f.id: f.name for f in fields},
        text_fields=tuple(f.id for f in fields if is_text_field_type(f.custom_type)),
    )


def responders_of(rules: Iterable[Rule]) -> list[UserReference]:
    """Every user the rules' enabled ``pd_add_responders`` actions name (valid params only)."""
    found: list[UserReference] = []
    for rule in rules:
        for _, item in rule_items(rule):
            if "pd_add_responders" not in enabled_actions(item):
                continue
            try:
                param = action_param("pd_add_responders", item.actions_params.get(KEY_RESPONDERS))
            except RuleDecodeError:
                continue  # reported by validation itself
            if isinstance(param, list):
                found.extend(u for u in param if isinstance(u, UserReference) and u not in found)
    return found


async def fetch_pd_catalog(
    reads: NatsReads, account: str, responders: Sequence[UserReference] = ()
) -> PdCatalog:
    """The account's services and priorities, and which of ``responders`` exist (each looked
    up by id, else by e-mail: an account may have thousands of users); ReadFailed if a read
    fails."""

    async def names(what: Literal["services", "priorities"]) -> tuple[Named, ...]:
        reply = await reads.ask(
            pd_read_subject(account, what), PdCatalogRead(account=account, what=what), PdNamesReply
        )
        return tuple(Named(id=i.id, name=i.name) for i in reply.items)

    async def user(ref: UserReference) -> Named | None:
        if ref.id:
            subject = pd_read_subject(account, "user")
            ask: PdUserRead | PdUserSearch = PdUserRead(account=account, user_id=ref.id)
        elif ref.email:
            subject = pd_read_subject(account, "users_by_email")
            ask = PdUserSearch(account=account, email=ref.email)
        else:
            return None
        reply = await reads.ask(subject, ask, PdUserReply)
        if reply.error is not None:
            who = ref.id or ref.email
            raise ReadFailed(f"pd-writer could not look up PagerDuty user {who}: {reply.error}")
        found = reply.user
        if found is None:
            return None
        return Named(id=found.id, name=found.name or found.email or found.id, key=found.email)

    services, priorities = await asyncio.gather(names("services"), names("priorities"))
    users = [u for u in [await user(ref) for ref in responders] if u is not None]
    return PdCatalog(
        services=services,
        priorities=priorities,
        users=tuple(users),
        users_looked_up=bool(responders),
    )


class Catalogs:
    """Live catalogs for validating rules (read afresh for every validation)."""

    def __init__(self, reads: NatsReads) -> None:
        self._reads = reads

    async def jira(self, instance: str, targets: Sequence[Target] = ()) -> JiraCatalog:
        return await fetch_jira_catalog(self._reads, instance, targets)

    async def pd(self, account: str, responders: Sequence[UserReference] = ()) -> PdCatalog:
        return await fetch_pd_catalog(self._reads, account, responders)
