"""JQL, the common subset, evaluated locally against the issue in a Jira webhook.

``parse`` -> ``Query``; ``evaluate`` -> True / False / UNKNOWN; on UNKNOWN ask Jira with
``jira_fallback_query``. See :mod:`pdjira_rules.jql.evaluate` for what is (not) imitated.
"""

from pdjira_rules.jql.evaluate import (
    UNKNOWN,
    ClausePlan,
    Truth,
    Unknown,
    clause_plan,
    evaluate,
    local_gaps,
)
from pdjira_rules.jql.fallback import jira_fallback_query, quote
from pdjira_rules.jql.lexer import JqlSyntaxError
from pdjira_rules.jql.parser import (
    And,
    Clause,
    Empty,
    Field,
    FunctionCall,
    HistoryClause,
    ListOperand,
    Node,
    Not,
    Operand,
    Or,
    Query,
    SortKey,
    Value,
    parse,
)

__all__ = [
    "UNKNOWN",
    "And",
    "Clause",
    "ClausePlan",
    "Empty",
    "Field",
    "FunctionCall",
    "HistoryClause",
    "JqlSyntaxError",
    "ListOperand",
    "Node",
    "Not",
    "Operand",
    "Or",
    "Query",
    "SortKey",
    "Truth",
    "Unknown",
    "Value",
    "clause_plan",
    "evaluate",
    "jira_fallback_query",
    "local_gaps",
    "parse",
    "quote",
]
