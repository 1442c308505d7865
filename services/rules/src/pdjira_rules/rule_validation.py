"""Check a rule against what exists in Jira and PagerDuty (catalogs as plain data, no I/O).

Every problem names the path in the rule and what exists instead, e.g.
``$.config.react_on_incident_event_config[0].actions_params.jira_change_status: status 'Doen'
does not exist; statuses: To Do, In Progress, Done``. References resolve by id first, then
by name (case-insensitive), so YAML may name statuses, priorities, projects and services.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final, TypeGuard

import msgspec
from pdjira_common.config import did_you_mean

from pdjira_rules.jql import JqlSyntaxError, parse
from pdjira_rules.jql.operators import unsupported_operators
from pdjira_rules.permissions_needed import AccessFinding
from pdjira_rules.rule_model import (
    AutocreateIncidentItem,
    AutocreateIssueItem,
    IssueType,
    JiraPriority,
    JiraStatus,
    PdjiraRule,
    PriorityReference,
    Project,
    ReactOnIncidentEventItem,
    ReactOnIssueStatusChangeItem,
    Rule,
    RuleDecodeError,
    ServiceReference,
    UserReference,
    action_param,
    enabled_actions,
    rule_items,
)
from pdjira_rules.templates import Template, TemplateItem, template_problems

__all__ = [
    "JiraCatalog",
    "JiraProject",
    "Named",
    "PdCatalog",
    "Problem",
    "access_problems",
    "find",
    "validate_pdjira_rule",
    "validate_rule",
]


class Named(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    key: str | None = None  # projects: "PD"; status categories etc. may use it too


class JiraProject(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    key: str
    name: str


class JiraCatalog(msgspec.Struct, frozen=True, kw_only=True):
    statuses: tuple[Named, ...] = ()
    priorities: tuple[Named, ...] = ()
    projects: tuple[JiraProject, ...] = ()
    issue_types: tuple[Named, ...] = ()
    resolutions: tuple[Named, ...] = ()
    # project key -> issue type name -> field ids required on create (createmeta `required`)
    required_fields: dict[str, dict[str, tuple[str, ...]]] = msgspec.field(default_factory=dict)
    fields: dict[str, str] = msgspec.field(default_factory=dict)  # field id -> field name
    # ids of the custom fields Jira searches as text (only ~, !~ and IS [NOT] EMPTY)
    text_fields: tuple[str, ...] = ()


class PdCatalog(msgspec.Struct, frozen=True, kw_only=True):
    services: tuple[Named, ...] = ()
    priorities: tuple[Named, ...] = ()
    users: tuple[Named, ...] = ()  # key: the e-mail; empty: responders are not checked
    # True: ``users`` holds every responder the rules name that exists (looked up one by one),
    # so a responder missing from it does not exist.
    users_looked_up: bool = False


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# Fields our create fills itself (project/issuetype from the target, summary from the title).
_FILLED_ON_CREATE: Final = frozenset({"project", "issuetype", "summary", "reporter"})
_FILLED_BY_ACTION: Final = {
    "jira_append_description": "description",
    "jira_field_set_priority": "priority",
    "jira_field_set_assignee": "assignee",
    "jira_field_set_labels": "labels",
}
_NO_PARAM: Final = frozenset({"pd_acknowledge", "pd_resolve", "pd_reopen"})
# pd_reopen is ours (PagerDuty's app has no such action): reopen a resolved incident.
_PD_ACTIONS: Final = frozenset(
    {"pd_acknowledge", "pd_resolve", "pd_reopen", "pd_set_priority", "pd_add_responders"}
)
_JIRA_ACTIONS: Final = frozenset(
    {"jira_change_status", "jira_append_description", *_FILLED_BY_ACTION}
)
_FIELD_SET: Final = "jira_field_set_"
_SECTIONS: Final = (
    "autocreate_issues",
    "autocreate_incidents",
    "react_on_incident_event",
    "react_on_issue_status_change",
)


def find(entries: Iterable[Named | JiraProject], *refs: str | None) -> Named | JiraProject | None:
    """The entry whose id equals a ref, else whose name or key does (case-insensitive)."""
    wanted = [r for r in refs if r]
    listed = list(entries)
    for entry in listed:
        if entry.id in wanted:
            return entry
    folded = {r.casefold() for r in wanted}
    for entry in listed:
        if entry.name.casefold() in folded or (entry.key or "").casefold() in folded:
            return entry
    return None


def _missing(what: str, ref: str, entries: Sequence[Named | JiraProject], plural: str) -> str:
    names = ", ".join(e.name for e in entries) or "none"
    return f"{what} '{ref}' does not exist; {plural}: {names}"


class _Checker:
    def __init__(self, jira: JiraCatalog, pd: PdCatalog, templated: Iterable[str] = ()) -> None:
        self.jira = jira
        self.pd = pd
        self.templated = frozenset(templated)  # field ids our wrapper fills from field_templates
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path=path, message=message))

    def ref(
        self,
        path: str,
        what: str,
        plural: str,
        entries: Sequence[Named | JiraProject],
        ref_id: str | None,
        *names: str | None,
    ) -> Named | JiraProject | None:
        given = [n for n in names if n]
        shown = given[-1] if given else ref_id
        if shown is None:
            self.add(path, f"{what} needs an id or a name")
            return None
        found = find(entries, ref_id, *given)
        if found is None:
            self.add(path, _missing(what, shown, entries, plural))
        elif found.id == ref_id:
            # An id copied from another instance may name something else here: say so.
            spelled = {found.name.casefold(), (found.key or "").casefold()}
            wrong = [n for n in given if n.casefold() not in spelled]
            if wrong:
                self.add(path, f"{what} id '{ref_id}' is '{found.name}' here, not '{wrong[0]}'")
        return found

    # -- references ----------------------------------------------------------------------

    def service(self, path: str, s: ServiceReference) -> None:
        self.ref(path, "service", "services", self.pd.services, s.id, s.summary, s.label)

    def pd_priority(self, path: str, p: PriorityReference) -> None:
        self.ref(path, "priority", "priorities", self.pd.priorities, p.id, p.summary, p.label)

    def project(self, path: str, p: Project) -> JiraProject | None:
        found = self.ref(path, "project", "projects", self.jira.projects, p.id, p.key, p.label)
        return found if isinstance(found, JiraProject) else None

    def issue_type(self, path: str, t: IssueType) -> Named | None:
        found = self.ref(path, "issue type", "issue types", self.jira.issue_types, t.id, t.label)
        return found if isinstance(found, Named) else None

    def status(self, path: str, s: JiraStatus) -> None:
        self.ref(path, "status", "statuses", self.jira.statuses, s.id, s.label)

    # -- rule ----------------------------------------------------------------------------

    def rule(self, rule: Rule, prefix: str) -> None:
        config = rule.config
        for i, s in enumerate(config.services):
            self.service(f"{prefix}.config.services[{i}]", s)
        projects = [
            self.project(f"{prefix}.config.projects[{i}]", p) for i, p in enumerate(config.projects)
        ]
        types = [
            self.issue_type(f"{prefix}.config.issue_types[{i}]", t)
            for i, t in enumerate(config.issue_types)
        ]
        for flag in _SECTIONS:
            if getattr(config, flag) and not getattr(config, f"{flag}_config"):
                self.add(f"{prefix}.config.{flag}_config", f"{flag} is on but has no items")
        for path, item in rule_items(rule, prefix):
            self.actions(path, item)
            if isinstance(item, AutocreateIssueItem):
                self.create_issue(path, item, projects, types)
            elif isinstance(item, AutocreateIncidentItem):
                self.create_incident(path, item, rule)
            elif isinstance(item, ReactOnIncidentEventItem):
                self.conditions(path, item.condition.pd_events, item.condition.pd_priorities)
                if item.target_project is not None:
                    self.project(f"{path}.target_project", item.target_project)
                if item.target_issue_type is not None:
                    self.issue_type(f"{path}.target_issue_type", item.target_issue_type)
            else:
                self.status_change(path, item)

    def conditions(
        self, path: str, events: Sequence[str], priorities: Sequence[PriorityReference]
    ) -> None:
        if not events:
            self.add(f"{path}.condition.pd_events", "no PagerDuty events: the item never fires")
        for i, p in enumerate(priorities):
            self.pd_priority(f"{path}.condition.pd_priorities[{i}]", p)

    def create_issue(
        self,
        path: str,
        item: AutocreateIssueItem,
        projects: list[JiraProject | None],
        types: list[Named | None],
    ) -> None:
        self.conditions(path, item.condition.pd_events, item.condition.pd_priorities)
        targets_p = projects
        if item.target_project is not None:
            targets_p = [self.project(f"{path}.target_project", item.target_project)]
        targets_t = types
        if item.target_issue_type is not None:
            targets_t = [self.issue_type(f"{path}.target_issue_type", item.target_issue_type)]
        filled = set(_FILLED_ON_CREATE) | self.templated
        for key in enabled_actions(item):
            if key in _FILLED_BY_ACTION:
                filled.add(_FILLED_BY_ACTION[key])
            elif key.startswith(_FIELD_SET):
                filled.add(key.removeprefix(_FIELD_SET))
        for project in targets_p:
            for issue_type in targets_t:
                if project is None or issue_type is None:
                    continue
                by_type = self.jira.required_fields.get(project.key, {})
                required = by_type.get(issue_type.name, ())
                for field in required:
                    if field in filled or self.jira.fields.get(field) in filled:
                        continue
                    name = self.jira.fields.get(field, field)
                    self.add(
                        path,
                        f"project {project.key} issue type {issue_type.name} requires field "
                        f"'{name}' ({field}) on create; set it with a {_FIELD_SET}{field} "
                        "action or in field_templates",
                    )

    def create_incident(self, path: str, item: AutocreateIncidentItem, rule: Rule) -> None:
        try:
            query = parse(item.jql)
        except JqlSyntaxError as exc:
            self.add(f"{path}.jql", str(exc))
        else:  # what Jira would answer 400 to, in Jira's words
            for message in unsupported_operators(query, self.jira.fields, self.jira.text_fields):
                self.add(f"{path}.jql", message)
        if not (item.on_create or item.on_update):
            self.add(path, "neither on_create nor on_update: the item never fires")
        if item.target_service is not None:
            self.service(f"{path}.target_service", item.target_service)
        elif not rule.config.services:
            self.add(
                f"{path}.target_service",
                "missing, and the rule names no service (all_services): say which service "
                "gets the incident",
            )
        elif len(rule.config.services) != 1:
            self.add(f"{path}.target_service", "missing, and the rule has several services")

    def status_change(self, path: str, item: ReactOnIssueStatusChangeItem) -> None:
        if not item.jira_statuses:
            self.add(f"{path}.jira_statuses", "no statuses: the item never fires")
        for i, s in enumerate(item.jira_statuses):
            self.status(f"{path}.jira_statuses[{i}]", s)

    def actions(
        self,
        path: str,
        item: AutocreateIssueItem
        | AutocreateIncidentItem
        | ReactOnIncidentEventItem
        | ReactOnIssueStatusChangeItem,
    ) -> None:
        if isinstance(item, ReactOnIssueStatusChangeItem):
            allowed = _PD_ACTIONS
        elif isinstance(item, AutocreateIncidentItem):
            allowed = _PD_ACTIONS | _JIRA_ACTIONS
        else:
            allowed = _JIRA_ACTIONS
        misplaced: set[str] = set()
        for i, key in enumerate(a.key for a in item.actions):
            generic = key.startswith(_FIELD_SET) and allowed is not _PD_ACTIONS
            if key not in allowed and not generic:
                misplaced.add(key)  # one problem per cause: its params go unchecked
                self.add(
                    f"{path}.actions[{i}]",
                    f"action '{key}' does not apply here{did_you_mean(key, allowed)}; actions: "
                    f"{', '.join(sorted(allowed))}",
                )
        for key in enabled_actions(item):
            ppath = f"{path}.actions_params.{key}"
            if key in _NO_PARAM or key in misplaced:
                continue
            if key not in item.actions_params:
                self.add(ppath, f"action '{key}' needs a parameter")
                continue
            try:
                param = action_param(key, item.actions_params[key], ppath)
            except RuleDecodeError as exc:
                self.add(exc.path, exc.detail)
                continue
            self.param(ppath, key, param)

    def param(self, path: str, key: str, param: object) -> None:
        if isinstance(param, JiraStatus):
            self.status(path, param)
        elif isinstance(param, JiraPriority):
            self.ref(
                path,
                "priority",
                "priorities",
                self.jira.priorities,
                param.id,
                param.name,
                param.label,
            )
        elif isinstance(param, PriorityReference):
            self.pd_priority(path, param)
        elif isinstance(param, list) and key == "pd_add_responders":
            if self.pd.users_looked_up:
                for i, user in enumerate(param):
                    if (
                        isinstance(user, UserReference)
                        and find(self.pd.users, user.id, user.email) is None
                    ):
                        self.add(
                            f"{path}[{i}]",
                            f"PagerDuty user '{user.id or user.email or user.label}' does not "
                            "exist (looked up by id, else e-mail); use the id from the user's "
                            "page in PagerDuty (https://<subdomain>.pagerduty.com/users/<ID>)",
                        )
            elif self.pd.users:
                for i, user in enumerate(param):
                    if isinstance(user, UserReference):
                        self.ref(
                            f"{path}[{i}]",
                            "user",
                            "users",
                            self.pd.users,
                            user.id,
                            user.email,
                            user.label,
                        )
        elif _is_template(param):
            for message in template_problems(param):
                self.add(path, message)


def validate_rule(rule: Rule, jira_catalog: JiraCatalog, pd_catalog: PdCatalog) -> list[Problem]:
    """Problems with PagerDuty's rule (empty list: fine)."""
    checker = _Checker(jira_catalog, pd_catalog)
    checker.rule(rule, "$")
    return checker.problems


def validate_pdjira_rule(
    wrapped: PdjiraRule, jira_catalog: JiraCatalog, pd_catalog: PdCatalog
) -> list[Problem]:
    """Problems with our wrapper and the rule inside it (paths start ``$.rule``)."""
    checker = _Checker(jira_catalog, pd_catalog, wrapped.field_templates)
    for pd_name, jira_name in wrapped.priority_map.items():
        path = f"$.priority_map.{pd_name}"
        checker.ref(path, "PagerDuty priority", "priorities", pd_catalog.priorities, None, pd_name)
        checker.ref(path, "priority", "priorities", jira_catalog.priorities, None, jira_name)
    for field, template in wrapped.field_templates.items():
        path = f"$.field_templates.{field}"
        if jira_catalog.fields and field not in jira_catalog.fields:
            known = ", ".join(f"{i} ({n})" for i, n in jira_catalog.fields.items())
            checker.add(path, f"field '{field}' does not exist; fields: {known}")
        for message in template_problems(template):
            checker.add(path, message)
    if wrapped.resolution is not None and jira_catalog.resolutions:
        checker.ref(
            "$.resolution",
            "resolution",
            "resolutions",
            jira_catalog.resolutions,
            None,
            wrapped.resolution,
        )
    checker.rule(wrapped.rule, "$.rule")
    return checker.problems


def _is_template(value: object) -> TypeGuard[Template]:
    if isinstance(value, list):
        return all(isinstance(v, TemplateItem) for v in value)
    return isinstance(value, str | TemplateItem)


def access_problems(findings: Iterable[AccessFinding], wrapped: PdjiraRule) -> list[Problem]:
    """The failed permission checks (:mod:`pdjira_rules.permissions_needed`) that concern this
    rule, at the first place in it that needs them (paths start ``$.rule``). A project that
    does not exist is left to the reference checks, which list the projects that do."""
    problems: list[Problem] = []
    for finding in findings:
        if finding.ok or finding.check == "MISSING" or finding.instance != wrapped.instance:
            continue
        use = next((u for u in finding.uses if u.rule == wrapped.rule.name), None)
        if use is not None:
            problems.append(Problem(path="$.rule" + use.path[1:], message=finding.message))
    return problems
