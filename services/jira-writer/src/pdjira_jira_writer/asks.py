"""The jira-writer's questions to mapping: the shared ones, plus how to name a note's author."""

from __future__ import annotations

from pdjira_common.mapping_client import MappingAsks as _SharedAsks
from pdjira_common.requests import UserLookup

__all__ = ["MappingAsks"]


class MappingAsks(_SharedAsks):
    async def author(self, lookup: UserLookup) -> str | None:
        """How to name a PagerDuty user in a comment: their mapped Jira name, else PD name."""
        reply = await self.user(lookup)
        if reply.jira_user is not None and reply.source != "fallback":
            return reply.jira_user.display_name or reply.jira_user.name
        if reply.pd_user is not None:
            return reply.pd_user.name or reply.pd_user.email
        return lookup.pd_user_id
