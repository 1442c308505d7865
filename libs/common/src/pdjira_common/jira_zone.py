"""The time zone Jira reads absolute JQL dates in for pdjira: the integration user's.

Read the jira-writer answers for the rules service (core NATS request/reply):

- ``reads.jira.<instance>.time_zone``: :class:`JiraTimeZoneRead` -> :class:`JiraTimeZoneReply`
  with ``time_zone`` the ``timeZone`` of ``GET /rest/api/2/myself`` (an IANA name such as
  ``Europe/Berlin``), None when Jira did not say. Jira evaluates ``created > "2026-11-20"``
  in the searching user's zone, so the rules service decides such a clause locally only in it.
"""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = ["TIME_ZONE_READ", "JiraTimeZoneRead", "JiraTimeZoneReply"]

TIME_ZONE_READ: Final = "time_zone"  # reads.jira.<instance>.time_zone


class JiraTimeZoneRead(msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_time_zone.v1"):
    instance: str


class JiraTimeZoneReply(
    msgspec.Struct, frozen=True, kw_only=True, tag="reads.jira_time_zone_reply.v1"
):
    time_zone: str | None = None  # IANA zone name; None: Jira did not say
    error: str | None = None
