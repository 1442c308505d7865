"""What the webhook subscriptions should be, and what to do about those that are not (pure).

Per PagerDuty account: one v3 subscription to ``<public_url>/webhooks/pagerduty/<account>``,
account-wide (``account_reference``), active, with every incident event ingest normalizes.
Per Jira instance: one webhook to ``<public_url>/webhooks/jira/<instance>`` (with
``?token=<webhook_token>`` when the instance has one), enabled, with the body, the events ingest
handles, and a JQL filter on the projects of the rules in effect.

A subscription is *ours* when its URL is exactly that one (for Jira: up to the query). One to
the same path on another host is another pdjira, or an old address of this one: reported,
never touched; anything else is someone else's and left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec
from pdjira_common.config import Config
from pdjira_common.webhook_admin import JiraApiName, JiraWebhook, PdSubscription

from pdjira_ingest.normalize import JIRA_SYNCED_EVENTS

__all__ = [
    "JIRA_EVENTS",
    "PD_EVENTS",
    "Action",
    "Finding",
    "Plan",
    "PublicUrlError",
    "desired_jira",
    "desired_pd",
    "plan_jira",
    "plan_pd",
    "project_jql",
    "rule_projects",
    "shown_url",
]

# Every incident event type of PagerDuty's v3 webhooks: ingest normalizes them all (status
# changes, notes, priority, assignments...; the rules decide which matter).
PD_EVENTS: tuple[str, ...] = (
    "incident.acknowledged",
    "incident.annotated",
    "incident.delegated",
    "incident.escalated",
    "incident.priority_updated",
    "incident.reassigned",
    "incident.reopened",
    "incident.resolved",
    "incident.responder.added",
    "incident.responder.replied",
    "incident.status_update_published",
    "incident.triggered",
    "incident.unacknowledged",
)
JIRA_EVENTS: tuple[str, ...] = tuple(sorted(JIRA_SYNCED_EVENTS))
_TOKEN = "token"  # noqa: S105  # the name of /webhooks/jira/<id>?token=...

Kind = Literal[
    "missing",
    "disabled",
    "temporarily_disabled",
    "events",
    "filter",
    "url",
    "exclude_body",
    "duplicate",
    "other_pdjira",
    "foreign",
    "no_filter",
    "cannot_sign",
]
Op = Literal["create", "update", "enable", "delete"]


class PublicUrlError(ValueError):
    """``ingest.public_url`` is missing or unusable; the message says what to set."""


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    kind: Kind
    problem: bool  # False: said for information, needs nothing
    message: str
    id: str = ""  # the subscription / webhook it is about


class Action(msgspec.Struct, frozen=True, kw_only=True):
    op: Op
    reason: str
    id: str = ""  # empty for a create
    api: JiraApiName | None = None  # Jira: the registration API to use


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    findings: tuple[Finding, ...] = ()
    actions: tuple[Action, ...] = ()
    primary: str = ""  # the id of our subscription once repaired ("" until created)

    @property
    def ok(self) -> bool:
        return not any(f.problem for f in self.findings)


def _problem(kind: Kind, message: str, ident: str = "") -> Finding:
    return Finding(kind=kind, problem=True, id=ident, message=message)


def _note(kind: Kind, message: str, ident: str = "") -> Finding:
    """A finding said for information: it needs nothing."""
    return Finding(kind=kind, problem=False, id=ident, message=message)


def _missing(findings: list[Finding], message: str, create: Action) -> Plan:
    """The plan when none of ours exists: say so first, and create it."""
    return Plan(findings=(_problem("missing", message), *findings), actions=(create,))


def _duplicates(
    extras: Sequence[tuple[str, JiraApiName | None]], primary: str, what: str, why: str = ""
) -> tuple[list[Finding], list[Action]]:
    """Findings and deletes for ours beyond the primary (id, registration API)."""
    findings = [
        _problem("duplicate", f"{what} {ident} duplicates {primary}{why}", ident)
        for ident, _ in extras
    ]
    deletes = [
        Action(op="delete", id=ident, api=api, reason="delete the duplicate")
        for ident, api in extras
    ]
    return findings, deletes


class _Repairs:
    """The problems of the primary subscription, and what an update to it must fix."""

    def __init__(self, findings: list[Finding], primary: str) -> None:
        self.findings = findings
        self.primary = primary
        self.update: list[str] = []

    def problem(self, kind: Kind, message: str, fix: str | None) -> None:
        self.findings.append(_problem(kind, message, self.primary))
        if fix:
            self.update.append(fix)

    def update_action(self, api: JiraApiName | None = None) -> list[Action]:
        if not self.update:
            return []
        return [Action(op="update", id=self.primary, api=api, reason=", ".join(self.update))]


# ----------------------------------------------------------------------------- desired


def _base(public_url: str | None) -> str:
    if not public_url or not public_url.strip():
        raise PublicUrlError(
            "ingest.public_url is not set: set it in the config to the URL PagerDuty and Jira "
            "reach ingest at (e.g. https://pdjira.example.com), then run the check again"
        )
    url = public_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise PublicUrlError(
            f"ingest.public_url {shown_url(url)!r} is not an http(s) URL without a query; "
            "set it to e.g. https://pdjira.example.com"
        )
    return url


def pd_url(public_url: str | None, account: str) -> str:
    return f"{_base(public_url)}/webhooks/pagerduty/{account}"


def jira_url(public_url: str | None, instance: str, token: str | None) -> str:
    url = f"{_base(public_url)}/webhooks/jira/{instance}"
    return f"{url}?{urlencode({_TOKEN: token})}" if token else url


def desired_pd(config: Config, account: str) -> PdSubscription:
    return PdSubscription(
        url=pd_url(config.ingest.public_url, account),
        events=PD_EVENTS,
        filter_type="account_reference",
        active=True,
        description=f"pdjira ingest (account {account})",
    )


def project_jql(projects: frozenset[str] | None) -> str | None:
    """``project in ("A", "B")``, or None (no filter) when the projects are not known."""
    if not projects:
        return None
    quoted = ", ".join(
        '"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in sorted(projects)
    )
    return f"project in ({quoted})"


def desired_jira(config: Config, instance: str, projects: frozenset[str] | None) -> JiraWebhook:
    configured = config.instance(instance)
    token = configured.webhook_token.reveal() if configured.webhook_token else None
    return JiraWebhook(
        name=f"pdjira ingest (instance {instance})",
        url=jira_url(config.ingest.public_url, instance, token),
        events=JIRA_EVENTS,
        jql=project_jql(projects),
        enabled=True,
        exclude_body=False,
    )


def _project_refs(rule: Any) -> list[str] | None:
    """The project keys (else ids) of a PagerDuty-style rule ``{"config": {"projects"}}``;
    None when they cannot be read."""
    config = rule.get("config") if isinstance(rule, dict) else None
    projects = config.get("projects") if isinstance(config, dict) else None
    if not isinstance(projects, list) or not projects:
        return None
    refs = []
    for project in projects:
        ref = project.get("key") or project.get("id") if isinstance(project, dict) else None
        if not isinstance(ref, str) or not ref:
            return None
        refs.append(ref)
    return refs


def rule_projects(
    config: Config, instance: str, stored: Iterable[Mapping[str, Any]] = ()
) -> frozenset[str] | None:
    """The Jira projects the rules of ``instance`` act on: the config's simple rules, its
    PagerDuty-style rules and the rules in effect (``stored``: KV ``pdjira_rules`` values,
    ``{"wrapped": {"instance", "rule"}}``). None (no filter) if any rule's projects cannot be
    read: a filter too narrow would lose events."""
    found = {r.project for r in config.rules if r.instance == instance}
    wrapped = [*config.pagerduty_rules, *(s.get("wrapped") for s in stored)]
    for item in wrapped:
        if not isinstance(item, dict):
            return None
        if item.get("instance") not in (None, instance):
            continue
        refs = _project_refs(item.get("rule"))
        if refs is None:
            return None
        found.update(refs)
    return frozenset(found)


# ----------------------------------------------------------------------------- urls


def _split_token(url: str) -> tuple[str, str | None]:
    """The URL without its query, and its ``token`` parameter."""
    parts = urlsplit(url)
    token = dict(parse_qsl(parts.query)).get(_TOKEN)
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", "")), token


def shown_url(url: str) -> str:
    """A URL as it may be shown: its query values (a webhook token) hidden."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _same_path_elsewhere(url: str, desired: str) -> bool:
    return urlsplit(url).path.rstrip("/") == urlsplit(desired).path.rstrip("/")


def _others(items: Sequence[tuple[str, str]], desired: str, what: str) -> list[Finding]:
    """Findings about the subscriptions (id, url) that are not ours."""
    findings = []
    foreign = 0
    for ident, url in items:
        if _same_path_elsewhere(url, desired):
            findings.append(
                _note(
                    "other_pdjira",
                    f"{what} {ident} sends to {shown_url(url)}: another pdjira, or an "
                    "old address of this one; left alone (delete it if that ingest is gone)",
                    ident,
                )
            )
        else:
            foreign += 1
    if foreign:
        findings.append(
            _note("foreign", f"{foreign} other {what}(s) send elsewhere; not pdjira's, left alone")
        )
    return findings


# ----------------------------------------------------------------------------- PagerDuty


def _pd_health(sub: PdSubscription) -> tuple[bool, bool]:
    return (sub.active and not sub.temporarily_disabled, set(PD_EVENTS) <= set(sub.events))


def plan_pd(desired: PdSubscription, existing: Sequence[PdSubscription]) -> Plan:
    """Findings about an account's subscriptions, and the actions that make them right."""
    key, _ = _split_token(desired.url)
    ours = [s for s in existing if _split_token(s.url)[0] == key]
    findings = _others(
        [(s.id, s.url) for s in existing if s not in ours], desired.url, "subscription"
    )
    if not ours:
        return _missing(
            findings,
            f"no webhook subscription sends to {desired.url}",
            Action(op="create", reason="create the missing subscription"),
        )
    primary = max(ours, key=_pd_health)  # the healthiest; the first of equals
    extras = [(s.id, None) for s in ours if s is not primary]
    duplicates, actions = _duplicates(
        extras, primary.id, "subscription", " (every event would come twice)"
    )
    findings.extend(duplicates)
    repairs = _Repairs(findings, primary.id)
    if not primary.active:
        repairs.problem(
            "disabled",
            f"subscription {primary.id} is disabled (active: false): PagerDuty sends nothing",
            "activate it",
        )
    if primary.temporarily_disabled:
        repairs.problem(
            "temporarily_disabled",
            f"subscription {primary.id} is temporarily disabled by PagerDuty "
            "(deliveries kept failing); its events are dropped meanwhile",
            None,
        )
        actions.append(Action(op="enable", id=primary.id, reason="re-enable it"))
    missing = sorted(set(desired.events) - set(primary.events))
    if missing:
        repairs.problem(
            "events", f"subscription {primary.id} lacks events {missing}", "add the missing events"
        )
    if primary.filter_type != desired.filter_type:
        repairs.problem(
            "filter",
            f"subscription {primary.id} is filtered to one {primary.filter_type} "
            f"({primary.filter_id}); the rules need every incident of the account",
            "filter on the account",
        )
    actions = [*repairs.update_action(), *actions]
    return Plan(findings=tuple(findings), actions=tuple(actions), primary=primary.id)


def pd_repaired(desired: PdSubscription, current: PdSubscription) -> PdSubscription:
    """What an update sends: the desired state, keeping the events it has beyond ours."""
    events = tuple(dict.fromkeys([*current.events, *desired.events]))
    return msgspec.structs.replace(desired, id=current.id, url=current.url, events=events)


# ----------------------------------------------------------------------------- Jira


def _jql_key(jql: str | None) -> str:
    return " ".join((jql or "").split()).casefold()


def _jira_health(hook: JiraWebhook) -> tuple[bool, bool, bool]:
    return (hook.enabled, not hook.exclude_body, set(JIRA_EVENTS) <= set(hook.events))


def plan_jira(
    desired: JiraWebhook,
    existing: Sequence[JiraWebhook],
    apis: Sequence[JiraApiName],
    *,
    signs: bool,
) -> Plan:
    """Findings about an instance's webhooks and the actions that make them right; ``signs``:
    the instance has a webhook_secret (only the v10 API can set one)."""
    key, token = _split_token(desired.url)
    ours = [h for h in existing if _split_token(h.url)[0] == key]
    findings = _others([(h.id, h.url) for h in existing if h not in ours], desired.url, "webhook")
    if signs and "v10" not in apis:
        findings.append(
            _problem(
                "cannot_sign",
                "this Jira has only the /rest/webhooks/1.0 API (Jira <= 9), whose "
                "webhooks cannot be signed, but the instance has a webhook_secret: every "
                "delivery would be refused; remove webhook_secret and set webhook_token",
            )
        )
    if not ours:
        api: JiraApiName = "v10" if "v10" in apis else "v1"
        return _missing(
            findings,
            f"no webhook sends to {shown_url(desired.url)}",
            Action(op="create", api=api, reason="register the missing webhook"),
        )
    primary = max(ours, key=_jira_health)
    extras = [(h.id, h.api) for h in ours if h is not primary]
    duplicates, actions = _duplicates(extras, primary.id, "webhook")
    findings.extend(duplicates)
    repairs = _Repairs(findings, primary.id)
    if _split_token(primary.url)[1] != token:
        repairs.problem(
            "url",
            f"webhook {primary.id}'s ?token= is not the instance's webhook_token"
            if token
            else f"webhook {primary.id} has a ?token= the instance does not use",
            "set the URL",
        )
    if not primary.enabled:
        repairs.problem(
            "disabled", f"webhook {primary.id} is disabled: Jira sends nothing", "enable it"
        )
    if primary.exclude_body:
        repairs.problem(
            "exclude_body",
            f"webhook {primary.id} excludes the body; ingest needs the issue in it",
            "include the body",
        )
    missing = sorted(set(JIRA_EVENTS) - set(primary.events))
    if missing:
        repairs.problem("events", f"webhook {primary.id} lacks events {missing}", "add the events")
    if primary.jql and _jql_key(primary.jql) != _jql_key(desired.jql):
        wanted = desired.jql or "no filter (a rule's projects could not be read)"
        repairs.problem(
            "filter",
            f"webhook {primary.id} filters on {primary.jql!r}, the rules need {wanted}",
            "set the JQL filter",
        )
    elif not primary.jql and desired.jql:
        findings.append(
            _note(
                "no_filter",
                f"webhook {primary.id} has no JQL filter: Jira sends every issue's "
                f"events (the rules need only {desired.jql}); fine, ingest ignores the rest",
                primary.id,
            )
        )
    actions = [*repairs.update_action(primary.api), *actions]
    return Plan(findings=tuple(findings), actions=tuple(actions), primary=primary.id)


def jira_repaired(desired: JiraWebhook, current: JiraWebhook) -> JiraWebhook:
    """What an update sends: the desired state, keeping the name and any extra events."""
    events = tuple(dict.fromkeys([*current.events, *desired.events]))
    jql = desired.jql if current.jql or desired.jql is None else None
    return msgspec.structs.replace(
        desired,
        id=current.id,
        api=current.api,
        name=current.name or desired.name,
        events=events,
        jql=jql,
    )
