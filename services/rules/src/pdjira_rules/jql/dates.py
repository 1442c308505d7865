"""JQL date operands and Jira's date strings.

Jira accepts ``yyyy/MM/dd HH:mm``, ``yyyy-MM-dd HH:mm``, ``yyyy/MM/dd``, ``yyyy-MM-dd`` and
periods such as ``-5d``, ``-1w 2d``, ``4h`` (units w, d, h, m = minutes) relative to now.
Jira reads absolute dates in the searching user's time zone (its profile's, ``GET
/rest/api/2/myself`` ``timeZone``); we read them in ``tz``, and not at all when it is not known
(None): a date clause that depends on the zone is then Jira's to decide.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from typing import Final, Literal

__all__ = ["date_kind", "parse_issue_date", "parse_jql_date"]

_ABSOLUTE: Final = re.compile(
    r"^(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$",
)
_PERIOD_PART: Final = re.compile(r"(\d+)\s*([wdhm])")
_PERIOD: Final = re.compile(r"^([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)$")
_UNIT: Final = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1)}


def parse_jql_date(text: str, *, now: datetime, tz: tzinfo | None) -> datetime | None:
    """An aware datetime for a JQL date operand, or None if it is not one (or it is absolute
    and ``tz`` is None). Periods are relative to ``now``, whatever the zone."""
    text = text.strip()
    period = _PERIOD.match(text)
    if period is not None:
        try:
            delta = timedelta()
            for amount, unit in _PERIOD_PART.findall(period.group(2)):
                delta += int(amount) * _UNIT.get(unit, timedelta(minutes=1))
            base = _aware(now, tz)
            if base is None:
                return None
            return base - delta if period.group(1) == "-" else base + delta
        except OverflowError:  # "-99999999999w" is a period, just not a usable one
            return None
    m = _ABSOLUTE.match(text)
    if m is None or tz is None:
        return None
    year, month, day, hour, minute = m.groups()
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), tzinfo=tz
        )
    except ValueError:
        return None


def date_kind(text: str) -> Literal["relative", "absolute"] | None:
    """Whether a JQL date operand is a period (the same instant in every zone) or an absolute
    date (read in the searching user's zone); None: not a date."""
    text = text.strip()
    if _PERIOD.match(text):
        return "relative"
    return "absolute" if _ABSOLUTE.match(text) else None


def parse_issue_date(value: object, *, tz: tzinfo | None) -> datetime | None:
    """A Jira date/datetime field value ("2026-11-20T10:00:00.000+0000", "2026-11-20"); a
    value without an offset (a date-only field) is read in ``tz``, None when that is None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return _aware(parsed, tz)


def _aware(value: datetime, tz: tzinfo | None) -> datetime | None:
    if value.tzinfo is not None:
        return value
    return None if tz is None else value.replace(tzinfo=tz)
