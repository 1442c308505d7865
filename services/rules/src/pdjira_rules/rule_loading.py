"""Turning raw rule data (the config's ``pagerduty_rules`` and compiled ``rules``, an API body,
a PagerDuty export) into :class:`PdjiraRule` / :class:`StoredRule`, every problem named by its
path in the file.

Pure: no I/O. Checks that need Jira or PagerDuty (does status 'Doen' exist?) are left to
:func:`pdjira_rules.rule_validation.validate_pdjira_rule` with live catalogs; here only what the
rule says about itself is checked (shape, JQL syntax, templates, actions in the right place).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from pdjira_common.config import Config, SyncRule, did_you_mean

from pdjira_rules.rule_model import (
    ConfigPlace,
    PdjiraRule,
    RuleDecodeError,
    StoredRule,
    decode_rule,
)
from pdjira_rules.rule_validation import JiraCatalog, PdCatalog, Problem, validate_pdjira_rule
from pdjira_rules.simple_rules import compile_simple_rule, simple_rule_problem

__all__ = [
    "CONFIG_ID_PREFIX",
    "WRAPPER_KEYS",
    "RuleLoadError",
    "config_problems",
    "config_rule_id",
    "decode_wrapper",
    "load_config_rules",
    "offline_problems",
    "rules_of_config",
    "wrapper_of",
]

CONFIG_ID_PREFIX: Final = "cfg-"
# Our wrapper's keys beside PagerDuty's ``rule``; ``pdjira`` (our list/export extension) is
# accepted and ignored, so a rule listed by our API imports unchanged.
WRAPPER_KEYS: Final = (
    "account",
    "instance",
    "rule",
    "priority_map",
    "field_templates",
    "resolution",
    "sync_priority",
    "urgency_map",
    "resolution_events",
    "all_services",
    "all_issue_types",
)
_IGNORED_KEYS: Final = frozenset({"pdjira"})
# Problems that only a catalog can settle: with empty catalogs every reference "does not exist".
_NEEDS_CATALOG: Final = re.compile(r" does not exist; | id '.*' is '.*' here, not ")


class RuleLoadError(ValueError):
    """One or more rules cannot be used; ``problems`` name each path and what is wrong."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _prefixed(prefix: str, path: str) -> str:
    """``$.rule.x`` under prefix ``$.pagerduty_rules[0]`` -> ``$.pagerduty_rules[0].rule.x``."""
    return prefix + path[1:] if path.startswith("$") else f"{prefix}.{path}"


def _choose(kind: str, given: object, configured: Sequence[str], path: str) -> list[Problem]:
    plural = "PagerDuty accounts" if kind == "account" else "Jira instances"
    if given is None:
        if len(configured) == 1:
            return []
        if not configured:
            return [Problem(path=path, message=f"no {plural} are configured")]
        return [
            Problem(
                path=path,
                message=f"missing, and several {plural} are configured; choose one of: "
                + ", ".join(configured),
            )
        ]
    if given not in configured:
        return [
            Problem(
                path=path,
                message=f"unknown {kind} {given!r}; configured: {', '.join(configured) or 'none'}",
            )
        ]
    return []


def decode_wrapper(
    raw: object,
    accounts: Sequence[str],
    instances: Sequence[str],
    prefix: str = "$",
) -> PdjiraRule:
    """Our wrapper from raw data; account/instance default to the only one configured.

    Raises :class:`RuleLoadError` with paths under ``prefix``.
    """
    if not isinstance(raw, Mapping):
        raise RuleLoadError(
            [Problem(path=prefix, message='expected an object {"rule": {...}, ...}')]
        )
    problems: list[Problem] = []
    for key in raw:
        if key not in WRAPPER_KEYS and key not in _IGNORED_KEYS:
            problems.append(
                Problem(
                    path=_prefixed(prefix, f"$.{key}"),
                    message=f"unknown key {key!r}{did_you_mean(str(key), WRAPPER_KEYS)}; known: "
                    f"{', '.join(WRAPPER_KEYS)}",
                )
            )
    if "rule" not in raw:
        problems.append(
            Problem(path=_prefixed(prefix, "$.rule"), message="missing: the PagerDuty rule")
        )
    data: dict[str, Any] = {k: v for k, v in raw.items() if k in WRAPPER_KEYS}
    for kind, configured in (("account", accounts), ("instance", instances)):
        found = _choose(kind, data.get(kind), configured, _prefixed(prefix, f"$.{kind}"))
        problems.extend(found)
        if data.get(kind) is None and not found:
            data[kind] = configured[0]
    if problems:
        raise RuleLoadError(problems)
    try:
        return decode_rule(data)
    except RuleDecodeError as exc:
        raise RuleLoadError(
            [Problem(path=_prefixed(prefix, exc.path), message=exc.detail)]
        ) from None


def offline_problems(wrapped: PdjiraRule, prefix: str = "$") -> list[Problem]:
    """What is wrong with the rule whatever Jira and PagerDuty hold (JQL syntax, templates,
    actions, items that never fire); references are checked later, against live catalogs."""
    return [
        Problem(path=_prefixed(prefix, p.path), message=p.message)
        for p in validate_pdjira_rule(wrapped, JiraCatalog(), PdCatalog())
        if not _NEEDS_CATALOG.search(p.message)
    ]


def wrapper_of(data: object) -> dict[str, Any]:
    """A rule as PagerDuty's API exports it, ``{"rule": {...}}`` (plus our optional siblings)
    or the bare rule, as our wrapper (account/instance still optional)."""
    if isinstance(data, Mapping) and "rule" in data:
        return dict(data)
    return {"rule": data}


def config_rule_id(name: str) -> str:
    """``cfg-<slug of name>``; a name without letters or digits gets a digest instead."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:60].strip("-")
    if not slug:
        slug = hashlib.sha256(name.encode()).hexdigest()[:12]
    return CONFIG_ID_PREFIX + slug


def config_problems(
    problems: Sequence[Problem], wrapped: PdjiraRule | None, place: ConfigPlace
) -> list[Problem]:
    """Problems of a config rule (paths ``$.rule...`` / ``$.resolution``...) at their place in
    the file: under ``$.pagerduty_rules[i]``, or at the simple rule's own settings (``wrapped``:
    the compiled rule, None if it did not decode)."""
    if place.section == "rules":
        return [simple_rule_problem(p, wrapped, place.path) for p in problems]
    return [Problem(path=_prefixed(place.path, p.path), message=p.message) for p in problems]


def load_config_rules(
    raw_rules: Sequence[Mapping[str, Any]],
    accounts: Sequence[str],
    instances: Sequence[str],
    *,
    simple_rules: Sequence[SyncRule] = (),
    now: datetime | None = None,
) -> tuple[StoredRule, ...]:
    """The config's rules as stored rules (source "config"): the simple ``rules`` compiled into
    PagerDuty-style rules, then ``pagerduty_rules``; or RuleLoadError listing every problem of
    every rule at its path in the file (``$.rules[i].on_resolve``, ``$.pagerduty_rules[i]...``)."""
    stamp = (now or datetime.now(UTC)).isoformat()
    problems: list[Problem] = []
    loaded: list[StoredRule] = []
    ids: dict[str, tuple[str, str]] = {}
    written: list[tuple[ConfigPlace, object]] = [
        *(
            (ConfigPlace(section="rules", index=i), compile_simple_rule(r))
            for i, r in enumerate(simple_rules)
        ),
        *(
            (ConfigPlace(section="pagerduty_rules", index=i), raw)
            for i, raw in enumerate(raw_rules)
        ),
    ]
    for place, raw in written:
        try:
            wrapped = decode_wrapper(raw, accounts, instances)
        except RuleLoadError as exc:
            problems.extend(config_problems(exc.problems, None, place))
            continue
        found = offline_problems(wrapped)
        if found:
            problems.extend(config_problems(found, wrapped, place))
            continue
        rule_id = config_rule_id(wrapped.rule.name)
        if rule_id in ids:
            first, first_name = ids[rule_id]
            same = "the same name" if first_name == wrapped.rule.name else "a name with that id"
            [named] = config_problems([Problem(path="$.rule.name", message="")], wrapped, place)
            problems.append(
                Problem(
                    path=named.path,
                    message=f"{first} has {same} ({first_name!r}, id {rule_id}); give every "
                    "rule its own name",
                )
            )
            continue
        ids[rule_id] = (place.path, wrapped.rule.name)
        loaded.append(
            StoredRule(id=rule_id, source="config", wrapped=wrapped, updated_at=stamp, place=place)
        )
    if problems:
        raise RuleLoadError(problems)
    return tuple(loaded)


def rules_of_config(config: Config) -> tuple[StoredRule, ...]:
    """The rules of a loaded config as the rules service takes them at start, or RuleLoadError
    with every problem (the service refuses to start on it; ``pdjira config check`` reports the
    same problems)."""
    return load_config_rules(
        config.pagerduty_rules,
        [a.id for a in config.pagerduty_accounts],
        [j.id for j in config.jira_instances],
        simple_rules=config.rules,
    )
