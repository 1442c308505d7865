"""The permission checks of ``rules validate`` and ``GET /rules/permissions`` (``pdjira
doctor``): what the rules need (pure, :mod:`pdjira_rules.permissions_needed`) against what each
instance's jira-writer finds (``reads.jira.<instance>.health``)."""

from __future__ import annotations

from collections.abc import Sequence

from pdjira_common.doctor import JIRA_HEALTH, JiraHealthRead, JiraHealthReply
from pdjira_common.requests import jira_read_subject

from pdjira_rules.permissions_needed import AccessFinding, access_findings, permission_needs
from pdjira_rules.reads import NatsReads, ReadFailed
from pdjira_rules.rule_model import PdjiraRule

__all__ = ["JiraAccessCheck"]


class JiraAccessCheck:
    def __init__(self, reads: NatsReads) -> None:
        self._reads = reads

    async def findings(self, rules: Sequence[PdjiraRule]) -> list[AccessFinding]:
        needs = permission_needs(rules)
        projects: dict[str, dict[str, None]] = {}
        for need in needs:
            projects.setdefault(need.instance, {})[need.project] = None
        health: dict[str, JiraHealthReply] = {}
        for instance, wanted in projects.items():
            try:
                health[instance] = await self._reads.ask(
                    jira_read_subject(instance, JIRA_HEALTH),
                    JiraHealthRead(instance=instance, projects=tuple(wanted)),
                    JiraHealthReply,
                )
            except ReadFailed as exc:
                health[instance] = JiraHealthReply(error=str(exc))
        return access_findings(needs, health)
