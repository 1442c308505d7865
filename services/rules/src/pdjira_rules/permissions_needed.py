"""Which Jira project permissions the rules need, and which of them the integration user lacks
(pure, no I/O: what Jira says comes in as :class:`pdjira_common.doctor.JiraHealthReply`).

Per (Jira instance, project) a rule needs: Browse Projects to read its issues; Create Issues
where ``autocreate_issues`` creates them; Transition Issues for ``jira_change_status``; Edit
Issues for priority, labels, description and other fields (and priority sync); Assign Issues
for ``jira_field_set_assignee``; Add Comments for ``sync_comments``. A project that is a Jira
Service Management service desk also needs the user among its agents (the project's "Service
Desk Team" role). Each finding says which rule needs what, and what to change in Jira.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

import msgspec
from pdjira_common.doctor import SERVICE_DESK_TEAM, JiraHealthReply, JiraProjectAccess

from pdjira_rules.rule_model import (
    AutocreateIncidentItem,
    AutocreateIssueItem,
    PdjiraRule,
    Project,
    ReactOnIncidentEventItem,
    enabled_actions,
    rule_items,
)

__all__ = [
    "PERMISSION_NAMES",
    "AccessFinding",
    "PermissionNeed",
    "Use",
    "access_findings",
    "permission_needs",
    "project_ref",
]

PERMISSION_NAMES: Final = {
    "BROWSE_PROJECTS": "Browse Projects",
    "CREATE_ISSUES": "Create Issues",
    "EDIT_ISSUES": "Edit Issues",
    "TRANSITION_ISSUES": "Transition Issues",
    "ASSIGN_ISSUES": "Assign Issues",
    "ADD_COMMENTS": "Add Comments",
}
# What a rule does with a permission, for the message: "rule 'X' <verb> in OPS (<why>)".
_VERBS: Final = {
    "BROWSE_PROJECTS": "reads issues",
    "CREATE_ISSUES": "creates issues",
    "EDIT_ISSUES": "edits issues",
    "TRANSITION_ISSUES": "moves issues",
    "ASSIGN_ISSUES": "assigns issues",
    "ADD_COMMENTS": "comments on issues",
}
_EDITS: Final = frozenset(
    {"jira_field_set_priority", "jira_field_set_labels", "jira_append_description"}
)


class Use(msgspec.Struct, frozen=True, kw_only=True):
    """One reason a rule needs a permission: the rule, where in it, and the action."""

    rule: str  # the rule's name
    path: str  # e.g. "$.config.react_on_incident_event_config[0].actions[1]"
    why: str  # e.g. "jira_change_status", "sync_comments", "autocreate_issues"


class PermissionNeed(msgspec.Struct, frozen=True, kw_only=True):
    instance: str
    project: str  # as the rules name it (key, else id, else name)
    permission: str  # e.g. "TRANSITION_ISSUES"
    uses: tuple[Use, ...]


class AccessFinding(msgspec.Struct, frozen=True, kw_only=True):
    """One check of one project: ``ok``, or ``message`` saying what to change. ``check`` is a
    permission key, ``SERVICE_DESK`` (the user is an agent there), ``MISSING`` (the project
    does not exist or is not visible) or ``PROJECT`` (its permissions could not be read)."""

    instance: str
    project: str
    check: str
    ok: bool
    message: str
    uses: tuple[Use, ...] = ()


def project_ref(project: Project) -> str | None:
    return project.key or project.id or project.label


def _action_permission(key: str) -> str | None:
    if key == "jira_change_status":
        return "TRANSITION_ISSUES"
    if key == "jira_field_set_assignee":
        return "ASSIGN_ISSUES"
    if key in _EDITS or key.startswith("jira_field_set_"):
        return "EDIT_ISSUES"
    return None


def _rule_uses(wrapped: PdjiraRule) -> list[tuple[str, str, Use]]:
    """(project, permission, use) for everything one rule does in Jira."""
    rule, config = wrapped.rule, wrapped.rule.config
    name = rule.name
    found: list[tuple[str, str, Use]] = []

    def add(projects: Iterable[Project | None], permission: str, path: str, why: str) -> None:
        for p in projects:
            ref = project_ref(p) if p is not None else None
            if ref:
                found.append((ref, permission, Use(rule=name, path=path, why=why)))

    for i, p in enumerate(config.projects):
        add([p], "BROWSE_PROJECTS", f"$.config.projects[{i}]", "reading issues")
    on = {
        AutocreateIssueItem: config.autocreate_issues,
        AutocreateIncidentItem: config.autocreate_incidents,
        ReactOnIncidentEventItem: config.react_on_incident_event,
    }
    for path, item in rule_items(rule):
        if not isinstance(
            item, AutocreateIssueItem | AutocreateIncidentItem | ReactOnIncidentEventItem
        ):
            continue  # react_on_issue_status_change acts on PagerDuty only
        if not on[type(item)]:
            continue
        targets: tuple[Project | None, ...] = config.projects
        if not isinstance(item, AutocreateIncidentItem) and item.target_project is not None:
            targets = (item.target_project,)
        if isinstance(item, AutocreateIssueItem):
            add(targets, "CREATE_ISSUES", path, "autocreate_issues")
        actions = enabled_actions(item)
        for key in actions:
            permission = _action_permission(key)
            if permission is None:
                continue
            index = next(j for j, a in enumerate(item.actions) if a.key == key)
            add(targets, permission, f"{path}.actions[{index}]", key)
    if config.sync_comments:
        add(config.projects, "ADD_COMMENTS", "$.config.sync_comments", "sync_comments")
    if wrapped.sync_priority and wrapped.priority_map:
        add(config.projects, "EDIT_ISSUES", "$.priority_map", "priority sync")
    return found


def permission_needs(rules: Iterable[PdjiraRule]) -> list[PermissionNeed]:
    """Per (instance, project, permission) every rule use that needs it, in a stable order."""
    grouped: dict[tuple[str, str, str], list[Use]] = {}
    for wrapped in rules:
        for project, permission, use in _rule_uses(wrapped):
            key = (wrapped.instance, project.upper() if project.isalnum() else project, permission)
            uses = grouped.setdefault(key, [])
            if use not in uses:
                uses.append(use)
    order = list(PERMISSION_NAMES)
    return [
        PermissionNeed(instance=i, project=p, permission=perm, uses=tuple(uses))
        for (i, p, perm), uses in sorted(
            grouped.items(), key=lambda kv: (kv[0][0], kv[0][1], order.index(kv[0][2]))
        )
    ]


def _who(uses: tuple[Use, ...]) -> str:
    names = list(dict.fromkeys(u.rule for u in uses))
    if len(names) == 1:
        return f"rule '{names[0]}'"
    return "rules " + ", ".join(f"'{n}'" for n in names)


def _whys(uses: tuple[Use, ...]) -> str:
    return ", ".join(dict.fromkeys(u.why for u in uses))


def access_findings(
    needs: Iterable[PermissionNeed], health: Mapping[str, JiraHealthReply]
) -> list[AccessFinding]:
    """Each need checked against what the instance's jira-writer found (``health`` per
    instance; a missing instance or a reply with ``error`` fails its needs with that error)."""
    findings: list[AccessFinding] = []
    by_project: dict[tuple[str, str], list[PermissionNeed]] = {}
    for need in needs:
        by_project.setdefault((need.instance, need.project), []).append(need)
    for (instance, project), wanted in by_project.items():
        reply = health.get(instance)
        uses = tuple(u for n in wanted for u in n.uses)
        if reply is None or reply.error is not None:
            why = reply.error if reply is not None else "not checked"
            findings.append(
                AccessFinding(
                    instance=instance,
                    project=project,
                    check="PROJECT",
                    ok=False,
                    message=f"cannot check the permissions in {project} on Jira instance "
                    f"'{instance}': {why}",
                    uses=uses,
                )
            )
            continue
        access = _access_of(reply, project)
        findings.extend(_project_findings(instance, project, wanted, access, reply.user, uses))
    return findings


def _access_of(reply: JiraHealthReply, project: str) -> JiraProjectAccess | None:
    folded = project.casefold()
    return next(
        (
            a
            for a in reply.projects
            if a.project.casefold() == folded or (a.key or "").casefold() == folded
        ),
        None,
    )


def _project_findings(
    instance: str,
    project: str,
    wanted: list[PermissionNeed],
    access: JiraProjectAccess | None,
    user: str | None,
    uses: tuple[Use, ...],
) -> list[AccessFinding]:
    login = f"'{user}'" if user else f"of Jira instance '{instance}'"
    if access is None or access.error is not None or access.key is None:
        failed = access is not None and access.error is not None
        why = (
            f"cannot read the permissions in {project}: {access.error}"
            if access is not None and access.error
            else f"project {project} does not exist, or the integration user {login} cannot "
            "see it: check the key, and grant Browse Projects in the project's permission scheme"
        )
        return [
            AccessFinding(
                instance=instance,
                project=project,
                check="PROJECT" if failed else "MISSING",
                ok=False,
                message=why,
                uses=uses,
            )
        ]
    key = access.key
    found: list[AccessFinding] = []
    held = set(access.held)
    for need in wanted:
        name = PERMISSION_NAMES.get(need.permission, need.permission)
        if need.permission in held:
            message = f"{name} in {key}: held by {login} (needed by {_who(need.uses)})"
            ok = True
        else:
            verb = _VERBS.get(need.permission, "acts")
            message = (
                f"{_who(need.uses)} {verb} in {key} ({_whys(need.uses)}) but the "
                f"integration user {login} lacks {name} in {key}: grant it in the project's "
                "permission scheme (Project settings > Permissions), to the user, a group or "
                "a project role it is in"
            )
            ok = False
        found.append(
            AccessFinding(
                instance=instance,
                project=project,
                check=need.permission,
                ok=ok,
                message=message,
                uses=need.uses,
            )
        )
    desk = access.service_desk
    if desk is not None:
        types = ", ".join(desk.request_types) or "none"
        if desk.agent:
            message = (
                f"{key} is a Jira Service Management project (request types: {types}); "
                f"{login} is in its '{SERVICE_DESK_TEAM}' role"
            )
        elif desk.agent is None:
            message = (
                f"{key} is a Jira Service Management project, but its '{SERVICE_DESK_TEAM}' "
                f"role could not be read: {desk.role_error}"
            )
        else:
            message = (
                f"{key} is a Jira Service Management project and the integration user "
                f"{login} is not in its '{SERVICE_DESK_TEAM}' role, so it is no agent there "
                f"and cannot work on requests: add it to the role (Project settings > Users "
                f"and roles > Add users to a role > {SERVICE_DESK_TEAM}); needed by "
                f"{_who(uses)}"
            )
        found.append(
            AccessFinding(
                instance=instance,
                project=project,
                check="SERVICE_DESK",
                ok=bool(desk.agent),
                message=message,
                uses=uses,
            )
        )
    return found
