"""Rules from the config file, checked against the live Jira and PagerDuty once the writers
answer.

At start only the checks that need no catalog can run (the writers may not be up yet): JQL
syntax, templates, structure. As soon as the writers answer, every config rule — the simple
``rules:`` compiled, and ``pagerduty_rules:`` — is checked like an API write is (statuses,
priorities, projects, issue types, services, fields required on create); a rule with problems
is refused — left out of every decision and logged with each problem at its path in the file
(e.g. ``$.rules[0].on_resolve``) — until the file (or an API write) fixes it, or Jira or
PagerDuty is changed to fit it: refused rules are checked again every ``recheck_every``
seconds (a field made required on create for a while must not switch a rule off for good).
Until the check
has run the rules apply: they passed every check that could run, and holding them back would
decide events without them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

from pdjira_common.logging import get_logger

from pdjira_rules.catalog import Target, create_targets, responders_of
from pdjira_rules.reads import ReadFailed
from pdjira_rules.rule_loading import config_problems
from pdjira_rules.rule_model import StoredRule, UserReference
from pdjira_rules.rule_validation import JiraCatalog, PdCatalog, Problem, validate_pdjira_rule

__all__ = ["CheckedRules", "RuleStoreView"]

_log = get_logger("pdjira_rules.config_check")


class RuleStoreView(Protocol):
    def current(self) -> tuple[StoredRule, ...]: ...


class CatalogSource(Protocol):
    async def jira(self, instance: str, targets: Sequence[Target] = ()) -> JiraCatalog: ...

    async def pd(self, account: str, responders: Sequence[UserReference] = ()) -> PdCatalog: ...


class CheckedRules:
    """The store's rules minus the config rules the live catalogs refused."""

    def __init__(
        self,
        store: RuleStoreView,
        catalogs: CatalogSource,
        *,
        retry_every: float = 5.0,
        recheck_every: float = 60.0,
    ) -> None:
        self._store = store
        self._catalogs = catalogs
        self._retry_every = retry_every
        self._recheck_every = recheck_every
        # (id, updated_at) of refused rules: a new version of the rule is not refused by it.
        self._refused: dict[tuple[str, str], tuple[Problem, ...]] = {}
        # (id, updated_at) of rules, of any source, whose JQL Jira refused (a 400 on search).
        self._jql_refused: dict[tuple[str, str], tuple[Problem, ...]] = {}
        self._task: asyncio.Task[None] | None = None
        self.checked = asyncio.Event()

    def current(self) -> tuple[StoredRule, ...]:
        refused = self._all_refused()
        return tuple(r for r in self._store.current() if (r.id, r.updated_at) not in refused)

    def _all_refused(self) -> dict[tuple[str, str], tuple[Problem, ...]]:
        if not self._jql_refused:
            return self._refused
        merged = dict(self._refused)
        for key, problems in self._jql_refused.items():
            merged[key] = merged.get(key, ()) + problems
        return merged

    def refused(self) -> dict[str, tuple[Problem, ...]]:
        """Rule id -> its problems, for every refused rule still in the store."""
        live = {(r.id, r.updated_at) for r in self._store.current()}
        return {
            rid: problems
            for (rid, at), problems in self._all_refused().items()
            if (rid, at) in live
        }

    def refuse_jql(self, instance: str, jql: str, reason: str) -> tuple[str, ...]:
        """Refuse every rule of ``instance`` with an autocreate_incidents item whose JQL is
        ``jql``: Jira refused it (``reason``, Jira's words). Until the rule is changed (a new
        version is not refused by it); the ids of the rules refused."""
        found: list[str] = []
        for rule in self._store.current():
            if rule.wrapped.instance != instance:
                continue
            config = rule.wrapped.rule.config
            problems = tuple(
                Problem(
                    path=f"$.config.autocreate_incidents_config[{i}].jql",
                    message=f"Jira refused this JQL: {reason}",
                )
                for i, item in enumerate(config.autocreate_incidents_config)
                if item.jql == jql
            )
            if problems:
                self._jql_refused[(rule.id, rule.updated_at)] = problems
                found.append(rule.id)
        live = {(r.id, r.updated_at) for r in self._store.current()}
        self._jql_refused = {k: v for k, v in self._jql_refused.items() if k in live}
        return tuple(found)

    def refused_rules(self) -> tuple[tuple[StoredRule, tuple[Problem, ...]], ...]:
        """Every refused rule still in the store with its problems (the audit trail names them
        for the events they would have applied to)."""
        refused = self._all_refused()
        if not refused:
            return ()
        return tuple(
            (r, refused[(r.id, r.updated_at)])
            for r in self._store.current()
            if (r.id, r.updated_at) in refused
        )

    async def check_once(self) -> dict[str, tuple[Problem, ...]]:
        """Check every config rule now; ReadFailed when a writer does not answer."""
        rules = [r for r in self._store.current() if r.source == "config"]
        targets: dict[str, list[Target]] = {}
        for rule in rules:
            targets.setdefault(rule.wrapped.instance, []).extend(
                create_targets([rule.wrapped.rule])
            )
        jira = {i: await self._catalogs.jira(i, t) for i, t in sorted(targets.items())}
        pd = {
            a: await self._catalogs.pd(
                a, responders_of(r.wrapped.rule for r in rules if r.wrapped.account == a)
            )
            for a in sorted({r.wrapped.account for r in rules})
        }
        refused: dict[tuple[str, str], tuple[Problem, ...]] = {}
        for rule in rules:
            wrapped = rule.wrapped
            problems = validate_pdjira_rule(wrapped, jira[wrapped.instance], pd[wrapped.account])
            if problems and rule.place is not None:
                problems = config_problems(problems, wrapped, rule.place)
            key = (rule.id, rule.updated_at)
            if problems:
                refused[key] = tuple(problems)
                if self._refused.get(key) != refused[key]:  # said once, not every re-check
                    _log.error(
                        "config_rule_refused",
                        rule=rule.name,
                        rule_id=rule.id,
                        problems=[str(p) for p in problems],
                        fix="correct the rule in the config file (or PUT it over /rules), or "
                        f"Jira / PagerDuty; it is checked again every {self._recheck_every:g} s",
                    )
            elif key in self._refused:
                _log.info("config_rule_accepted", rule=rule.name, rule_id=rule.id)
        self._refused = refused
        self.checked.set()
        _log.info("config_rules_checked", rules=len(rules), refused=len(refused))
        return {rid: problems for (rid, _), problems in refused.items()}

    async def _run(self) -> None:
        while True:
            try:
                refused = await self.check_once()
            except ReadFailed as exc:
                _log.warning("config_rules_not_checked_yet", reason=str(exc))
                await asyncio.sleep(self._retry_every)
                continue
            if not refused:
                return
            await asyncio.sleep(self._recheck_every)

    def start(self) -> None:
        """Check in the background, retrying until the writers answer; again while any
        config rule is refused."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="config-rule-check")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
