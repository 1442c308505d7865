"""One line of at most ``limit`` characters (Jira summaries, PagerDuty titles)."""

from __future__ import annotations

__all__ = ["one_line"]


def one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    return line[: limit - 3].rstrip() + "..."
