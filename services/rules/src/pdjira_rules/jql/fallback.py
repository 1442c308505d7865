"""The query to ask Jira when local evaluation says UNKNOWN."""

from __future__ import annotations

from pdjira_rules.jql.parser import parse

__all__ = ["jira_fallback_query", "quote"]


def quote(value: str) -> str:
    """A JQL double-quoted string literal."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def jira_fallback_query(issue_key: str, jql: str) -> str:
    """``key = "X" AND (<jql without ORDER BY>)``: search returns the issue iff it matches.

    The JQL is parsed first (raising JqlSyntaxError), so its parentheses balance and the
    wrapper cannot be escaped by ``a = 1) OR (b = 2``; parentheses are always added because
    ``key = X AND a OR b`` would match every ``b``.
    """
    where = parse(jql).where_text
    key = f"key = {quote(issue_key)}"
    return f"{key} AND ({where})" if where else key
