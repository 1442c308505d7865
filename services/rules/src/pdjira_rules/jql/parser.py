"""JQL parser and AST: Jira's grammar lives in :mod:`pdjira_jql` (shared with the Jira
simulator, checked against Atlassian's grammar). Re-exported under the names the rules code
has always used."""

from pdjira_jql import (
    And,
    Clause,
    Empty,
    Field,
    FieldProperty,
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
    "And",
    "Clause",
    "Empty",
    "Field",
    "FieldProperty",
    "FunctionCall",
    "HistoryClause",
    "ListOperand",
    "Node",
    "Not",
    "Operand",
    "Or",
    "Query",
    "SortKey",
    "Value",
    "parse",
]
