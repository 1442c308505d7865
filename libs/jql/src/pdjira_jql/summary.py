"""A one-line, human-readable account of a parsed query (for ``pdjira jql check``)."""

from __future__ import annotations

from pdjira_jql.ast import (
    Clause,
    Empty,
    Field,
    FunctionCall,
    HistoryClause,
    Node,
    Not,
    Operand,
    Query,
    Value,
)
from pdjira_jql.lexer import Kind, tokenize

__all__ = ["clauses", "describe", "field_text", "operand_text"]


def field_text(field: Field) -> str:
    if field.custom_id is not None:
        base = f"cf[{field.custom_id}]"
    else:
        base = field.name if _plain(field.name) else _quote(field.name)
    return base + (field.suffix or "")


def operand_text(operand: Operand) -> str:
    if isinstance(operand, Empty):
        return "EMPTY"
    if isinstance(operand, Value):
        return (
            operand.text if (not operand.quoted and _plain(operand.text)) else _quote(operand.text)
        )
    if isinstance(operand, FunctionCall):
        return f"{operand.name}({', '.join(_quote(a) for a in operand.args)})"
    return "(" + ", ".join(operand_text(i) for i in operand.items) + ")"


def clauses(node: Node | None) -> list[Clause | HistoryClause]:
    """The leaf clauses of ``node``, left to right."""
    if node is None:
        return []
    if isinstance(node, (Clause, HistoryClause)):
        return [node]
    if isinstance(node, Not):
        return clauses(node.child)
    out: list[Clause | HistoryClause] = []
    for child in node.children:
        out.extend(clauses(child))
    return out


def describe(query: Query) -> str:
    """``3 clauses: status = Open; assignee IN currentUser(); ... | ORDER BY created DESC``."""
    leaves = clauses(query.where)
    parts = [_clause_text(c) for c in leaves]
    head = f"{len(leaves)} clause{'s' if len(leaves) != 1 else ''}"
    text = f"{head}: {'; '.join(parts)}" if parts else f"{head} (matches every issue)"
    if query.order_by:
        keys = ", ".join(
            field_text(k.field)
            + ("" if k.descending is None else " DESC" if k.descending else " ASC")
            for k in query.order_by
        )
        text += f" | ORDER BY {keys}"
    return text


def _clause_text(c: Clause | HistoryClause) -> str:
    text = f"{field_text(c.field)} {c.op.upper()}"
    if c.operand is not None:
        text += f" {operand_text(c.operand)}"
    if isinstance(c, HistoryClause):
        for name, operand in c.predicates:
            text += f" {name.upper()} {operand_text(operand)}"
    return text


def _plain(text: str) -> bool:
    """Whether ``text`` can be written unquoted and reads back as itself."""
    tokens = tokenize(text)
    return len(tokens) == 2 and tokens[0].kind in (Kind.WORD, Kind.NUMBER) and tokens[0].raw == text


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'
