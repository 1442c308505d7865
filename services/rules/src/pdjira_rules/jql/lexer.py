"""JQL tokens: Jira's lexer lives in :mod:`pdjira_jql.lexer` (shared with the Jira simulator)."""

from pdjira_jql.lexer import JqlSyntaxError, Kind, Token, tokenize

__all__ = ["JqlSyntaxError", "Kind", "Token", "tokenize"]
