"""PagerDuty's Jira Server integration rule, as msgspec Structs, and our wrapper beside it.

The shapes follow ``integration-jira-service/openapiv3.json`` (components/schemas/Rule) so a
rule exported from PagerDuty's API decodes unchanged; unknown extra fields are ignored (the
export carries ``label``, ``icon``, ``html_url``... that the schema does not list). Ids are
optional where our YAML may name things instead (statuses, priorities, projects): validation
resolves names. ``actions_params`` is an open object in the spec; the known keys are checked
by :func:`action_param`, which :func:`decode_rule` runs on every item so errors surface at load.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated, Any, Final, Literal, TypeAlias, TypeVar, Union, get_args, get_origin

import msgspec
from pdjira_common.config import Id

from pdjira_rules.templates import Template

__all__ = [
    "ACTION_PARAM_TYPES",
    "AutocreateIncidentItem",
    "AutocreateIssueItem",
    "ConfigPlace",
    "CreateIssueCondition",
    "CreateIssueEvent",
    "IssueType",
    "JiraPriority",
    "JiraStatus",
    "PdjiraRule",
    "PriorityReference",
    "Project",
    "ReactOnIncidentEventItem",
    "ReactOnIssueStatusChangeItem",
    "Rule",
    "RuleAction",
    "RuleConfig",
    "RuleDecodeError",
    "RuleItem",
    "RuleSource",
    "ServiceReference",
    "StoredRule",
    "UpdateIssueCondition",
    "UpdateIssueEvent",
    "Urgency",
    "UserReference",
    "action_param",
    "decode_pd_rule",
    "decode_rule",
    "enabled_actions",
    "rule_items",
]

_T = TypeVar("_T")
Urgency: TypeAlias = Literal["high", "low"]
UpdateIssueEvent: TypeAlias = Literal[
    "incident.trigger",
    "incident.acknowledge",
    "incident.unacknowledge",
    "incident.resolve",
    "incident.escalate",
    "incident.assign",
    "incident.delegate",
]
CreateIssueEvent: TypeAlias = Literal[UpdateIssueEvent, "incident.trigger_manually"]


class ServiceReference(msgspec.Struct, frozen=True, kw_only=True):
    id: str | None = None  # None: named by summary/label, resolved by validation
    type: Literal["service_reference"] = "service_reference"
    summary: str | None = None
    label: str | None = None  # in PagerDuty's examples, not in the schema
    self_url: str | None = msgspec.field(default=None, name="self")
    html_url: str | None = None


class PriorityReference(msgspec.Struct, frozen=True, kw_only=True):
    id: str | None = None  # None: named by label/summary, resolved by validation
    type: Literal["priority_reference"] = "priority_reference"
    summary: str | None = None
    label: str | None = None
    self_url: str | None = msgspec.field(default=None, name="self")
    html_url: str | None = None
    icon: str | None = None


class UserReference(msgspec.Struct, frozen=True, kw_only=True):
    id: str | None = None
    type: Literal["user_reference"] = "user_reference"
    email: str | None = None
    label: str | None = None
    summary: str | None = None
    html_url: str | None = None
    icon: str | None = None


class Project(msgspec.Struct, frozen=True, kw_only=True):
    id: str | None = None
    key: str | None = None
    label: str | None = None
    icon: str | None = None
    html_url: str | None = None


class IssueType(msgspec.Struct, frozen=True, kw_only=True):
    id: str | None = None
    label: str | None = None
    icon: str | None = None


class JiraStatus(msgspec.Struct, frozen=True, kw_only=True):
    id: str | None = None
    label: str | None = None


class JiraPriority(msgspec.Struct, frozen=True, kw_only=True):
    """``jira_field_set_priority``'s param: ``{"label", "icon", "name", "id"}``."""

    id: str | None = None
    name: str | None = None
    label: str | None = None
    icon: str | None = None


class RuleAction(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    label: str | None = None
    icon: str | None = None
    is_disabled: bool = msgspec.field(default=False, name="isDisabled")


class CreateIssueCondition(msgspec.Struct, frozen=True, kw_only=True):
    pd_events: tuple[CreateIssueEvent, ...] = ()
    pd_priorities: tuple[PriorityReference, ...] = ()
    pd_urgency: Urgency | None = None


class UpdateIssueCondition(msgspec.Struct, frozen=True, kw_only=True):
    pd_events: tuple[UpdateIssueEvent, ...] = ()
    pd_priorities: tuple[PriorityReference, ...] = ()
    pd_urgency: Urgency | None = None


# actions_params is an open object in the schema; values are checked by action_param().
Params: TypeAlias = dict[str, Any]


class AutocreateIssueItem(msgspec.Struct, frozen=True, kw_only=True):
    condition: CreateIssueCondition = CreateIssueCondition()
    actions: tuple[RuleAction, ...] = ()
    actions_params: Params = msgspec.field(default_factory=dict)
    target_project: Project | None = None
    target_issue_type: IssueType | None = None


class AutocreateIncidentItem(msgspec.Struct, frozen=True, kw_only=True):
    jql: str
    on_create: bool = False
    on_update: bool = False
    actions: tuple[RuleAction, ...] = ()
    actions_params: Params = msgspec.field(default_factory=dict)
    target_service: ServiceReference | None = None


class ReactOnIncidentEventItem(msgspec.Struct, frozen=True, kw_only=True):
    condition: UpdateIssueCondition = UpdateIssueCondition()
    actions: tuple[RuleAction, ...] = ()
    actions_params: Params = msgspec.field(default_factory=dict)
    target_project: Project | None = None
    target_issue_type: IssueType | None = None


class ReactOnIssueStatusChangeItem(msgspec.Struct, frozen=True, kw_only=True):
    jira_statuses: tuple[JiraStatus, ...] = ()
    actions: tuple[RuleAction, ...] = ()
    actions_params: Params = msgspec.field(default_factory=dict)


NonEmpty = msgspec.Meta(min_length=1)


class RuleConfig(msgspec.Struct, frozen=True, kw_only=True):
    sync_comments: bool = False
    # At least one (checked on decoding: empty only beside our wrapper's all_services).
    services: tuple[ServiceReference, ...] = ()
    projects: Annotated[tuple[Project, ...], NonEmpty]
    issue_types: Annotated[tuple[IssueType, ...], NonEmpty]
    autocreate_issues: bool = False
    autocreate_issues_config: tuple[AutocreateIssueItem, ...] = ()
    autocreate_incidents: bool = False
    autocreate_incidents_config: tuple[AutocreateIncidentItem, ...] = ()
    react_on_incident_event: bool = False
    react_on_incident_event_config: tuple[ReactOnIncidentEventItem, ...] = ()
    react_on_issue_status_change: bool = False
    react_on_issue_status_change_config: tuple[ReactOnIssueStatusChangeItem, ...] = ()


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """PagerDuty's rule. ``created_at`` is read-only there (required in responses only)."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    enabled: bool = False
    config: RuleConfig
    created_at: datetime | None = None  # a datetime, not str: YAML loaders produce datetimes
    id: str | None = None  # list responses may carry it though the schema does not


class PdjiraRule(msgspec.Struct, frozen=True, kw_only=True):
    """Our additions beside PagerDuty's rule: which account and Jira instance it joins, how
    PagerDuty priorities map to Jira's, templates for required create fields, the resolution
    to set when a transition needs one, and scope wider than PagerDuty's rule can say (the
    simple ``rules:`` of the config compile to rules that use it)."""

    account: Annotated[str, Id]  # ids as in the config file (they appear in NATS subjects)
    instance: Annotated[str, Id]
    rule: Rule
    priority_map: dict[str, str] = msgspec.field(default_factory=dict)  # PD name -> Jira name
    field_templates: dict[str, Template] = msgspec.field(default_factory=dict)  # field id ->
    resolution: str | None = None
    # Beyond PagerDuty's app: a priority-only change on either side follows through the map
    # (PagerDuty -> Jira by priority_map, Jira -> PagerDuty by its inverse).
    sync_priority: bool = True
    urgency_map: dict[str, Urgency] = msgspec.field(default_factory=dict)  # Jira prio -> urgency
    # The PagerDuty events whose transitions carry ``resolution`` (empty: every transition),
    # e.g. [incident.resolve]: acknowledging moves the issue without resolving it.
    resolution_events: tuple[UpdateIssueEvent, ...] = ()
    # Every service of the account (``config.services`` is then left empty).
    all_services: bool = False
    # Jira events about issues of any type (``config.issue_types`` still names the type an
    # autocreated issue gets).
    all_issue_types: bool = False


RuleSource: TypeAlias = Literal["config", "api"]


class ConfigPlace(msgspec.Struct, frozen=True, kw_only=True):
    """Where a config rule is written: ``$.rules[index]`` (a simple rule, compiled) or
    ``$.pagerduty_rules[index]``."""

    section: Literal["rules", "pagerduty_rules"]
    index: int

    @property
    def path(self) -> str:
        return f"$.{self.section}[{self.index}]"


class StoredRule(msgspec.Struct, frozen=True, kw_only=True):
    """One rule as kept in KV ``pdjira_rules`` (key: ``id``) and as the decision code sees it.

    ``source`` "config": seeded from the YAML file at start (the file wins again on the next
    start), ``place`` saying where in the file; "api": created over the admin API or
    ``pdjira rules import``.
    """

    id: str
    source: RuleSource
    wrapped: PdjiraRule
    updated_at: str = ""
    place: ConfigPlace | None = None

    @property
    def name(self) -> str:
        return self.wrapped.rule.name


class RuleDecodeError(ValueError):
    """``<path>: <what is wrong>``, e.g. ``$.config.services: Expected ...``."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.detail = message
        super().__init__(f"{path}: {message}")


# Known action params; a jira_field_set_<field id> not listed here takes a Template.
ACTION_PARAM_TYPES: Final[Mapping[str, object]] = {
    "jira_change_status": JiraStatus,
    "jira_field_set_priority": JiraPriority,
    "jira_field_set_assignee": Template,
    "jira_field_set_labels": Template,
    "jira_append_description": Template,
    "pd_set_priority": PriorityReference,
    "pd_add_responders": list[UserReference],
}
_FIELD_SET = "jira_field_set_"


def action_param(key: str, raw: object, path: str = "$") -> object:
    """The typed param of action ``key`` (None if the action takes none we know)."""
    kind = ACTION_PARAM_TYPES.get(key)
    if kind is None and key.startswith(_FIELD_SET):
        kind = Template
    if kind is None:
        return None
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise _decode_error(exc, kind, prefix=path) from None


# One configuration item of any of the four sections.
RuleItem: TypeAlias = (
    AutocreateIssueItem
    | AutocreateIncidentItem
    | ReactOnIncidentEventItem
    | ReactOnIssueStatusChangeItem
)
_SECTIONS: Final = (
    "autocreate_issues_config",
    "autocreate_incidents_config",
    "react_on_incident_event_config",
    "react_on_issue_status_change_config",
)


def enabled_actions(item: RuleItem) -> tuple[str, ...]:
    """The keys of the actions that are not disabled, in order."""
    return tuple(a.key for a in item.actions if not a.is_disabled)


def rule_items(rule: Rule, prefix: str = "$") -> Iterator[tuple[str, RuleItem]]:
    """Every configuration item with its path, e.g. ``$.config.autocreate_issues_config[0]``."""
    for section in _SECTIONS:
        items: tuple[RuleItem, ...] = getattr(rule.config, section)
        for i, item in enumerate(items):
            yield f"{prefix}.config.{section}[{i}]", item


def decode_pd_rule(data: bytes | str | Mapping[str, object]) -> Rule:
    """PagerDuty's rule from JSON text or already-parsed data (YAML); RuleDecodeError."""
    rule = _decode(data, Rule)
    _check_services(rule, "$", all_services=False)
    _check_params(rule, "$")
    return rule


def decode_rule(data: bytes | str | Mapping[str, object]) -> PdjiraRule:
    """Our wrapper ``{account, instance, rule: {...}, ...}``; RuleDecodeError."""
    wrapped = _decode(data, PdjiraRule)
    _check_services(wrapped.rule, "$.rule", all_services=wrapped.all_services)
    _check_params(wrapped.rule, "$.rule")
    return wrapped


def _check_services(rule: Rule, prefix: str, *, all_services: bool) -> None:
    """PagerDuty's schema wants at least one service; our wrapper may say "every service"."""
    services = rule.config.services
    if all_services and services:
        raise RuleDecodeError(
            f"{prefix}.config.services",
            "all_services is on beside the rule: leave services empty (or turn all_services off)",
        )
    if not all_services and not services:
        raise RuleDecodeError(f"{prefix}.config.services", "Expected `array` of length >= 1")


def _decode(data: bytes | str | Mapping[str, object], kind: type[_T]) -> _T:
    try:
        if isinstance(data, bytes | str):
            return msgspec.json.decode(data, type=kind)
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise _decode_error(exc, kind) from None
    except msgspec.DecodeError as exc:
        raise RuleDecodeError("$", f"not valid JSON: {exc}") from None


def _check_params(rule: Rule, prefix: str) -> None:
    for path, item in rule_items(rule, prefix):
        for key, raw in item.actions_params.items():
            action_param(key, raw, f"{path}.actions_params.{key}")


_AT: Final = re.compile(r"^(.*) - at `(\$[^`]*)`$", re.DOTALL)
_STEP: Final = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[(.*?)\]")


def _decode_error(exc: msgspec.ValidationError, kind: object, prefix: str = "$") -> RuleDecodeError:
    """msgspec's "msg - at `$.a[0].b`" as "<prefix>.a[0].b: msg", with enum choices spelled out."""
    text = str(exc)
    m = _AT.match(text)
    message, path = (m.group(1), m.group(2)) if m else (text, "$")
    if message.startswith("Invalid enum value"):
        choices = _literal_choices(kind, path)
        if choices:
            message = f"Expected one of {', '.join(choices)}, got {message.split(' ', 3)[3]}"
    return RuleDecodeError(prefix + path[1:], message)


def _literal_choices(kind: object, path: str) -> tuple[str, ...]:
    """The Literal values allowed at ``path`` in ``kind``, found by walking the type."""
    node: object = kind
    for name, _index, _key in _STEP.findall(path[1:]):
        node = _unwrap(node)
        if name and isinstance(node, type) and issubclass(node, msgspec.Struct):
            fields = {f.encode_name: f.type for f in msgspec.structs.fields(node)}
            node = fields.get(name)
        elif get_origin(node) in (tuple, list):
            node = get_args(node)[0]
        elif get_origin(node) is dict:
            node = get_args(node)[1]
    return tuple(str(v) for v in _literals(_unwrap(node)))


def _unwrap(node: object) -> object:
    while True:
        if get_origin(node) is Annotated:
            node = get_args(node)[0]
            continue
        args = [a for a in get_args(node) if a is not type(None)]
        if get_origin(node) in (Union, type(int | None)) and len(args) == 1:
            node = args[0]
            continue
        return node


def _literals(node: object) -> list[object]:
    if get_origin(node) is Literal:
        out: list[object] = []
        for arg in get_args(node):
            out.extend(_literals(arg) if get_origin(arg) is Literal else [arg])
        return out
    return []
