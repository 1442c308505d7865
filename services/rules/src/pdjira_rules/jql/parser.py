"""JQL parser: tokens -> an immutable AST.

Grammar (AND binds tighter than OR; NOT tighter than both; keywords case-insensitive)::

    query    := [or] [ORDER BY sort (',' sort)*] EOF
    or       := and ((OR | '||' | '|') and)*
    and      := not ((AND | '&&' | '&') not)*
    not      := (NOT | '!') not | '(' or ')' | clause
    clause   := field op operand
              | field (IS | IS NOT) (EMPTY | NULL)
              | field [NOT] IN list-or-function
              | field WAS [NOT] [IN] operand predicate*      (history: parsed, never evaluated)
              | field CHANGED predicate*
    field    := word | string | word '[' value ']' word?     (cf[10010], issue.property[x].y)
    operand  := value | EMPTY | NULL | function | list
    list     := '(' operand (',' operand)* ')'
    function := word '(' [value (',' value)*] ')'

Everything the evaluator cannot decide locally (functions, history operators, unknown fields)
still parses, so a rule with such JQL loads and is checked by Jira instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field  # `field` is also a clause attribute
from typing import Final, TypeAlias

from pdjira_rules.jql.lexer import JqlSyntaxError, Kind, Token, tokenize

__all__ = [
    "And",
    "Clause",
    "Empty",
    "Field",
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


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # as written (decoded), e.g. "status", "Customer Tier", "cf"
    custom_id: str | None = None  # "10010" for cf[10010]
    suffix: str | None = None  # anything else in brackets: issue.property[...] etc.


@dataclass(frozen=True, slots=True)
class Value:
    text: str
    quoted: bool


@dataclass(frozen=True, slots=True)
class Empty:
    """EMPTY or NULL."""


@dataclass(frozen=True, slots=True)
class FunctionCall:
    name: str
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListOperand:
    items: tuple[Operand, ...]


Operand: TypeAlias = Value | Empty | FunctionCall | ListOperand


@dataclass(frozen=True, slots=True)
class Clause:
    field: Field
    op: str  # "=", "!=", "~", "!~", "<", "<=", ">", ">=", "in", "not in", "is", "is not"
    operand: Operand
    pos: int = dc_field(default=0, compare=False)  # for messages; not part of the meaning


@dataclass(frozen=True, slots=True)
class HistoryClause:
    """WAS / WAS NOT / WAS IN / WAS NOT IN / CHANGED: needs the issue's history, i.e. Jira."""

    field: Field
    op: str
    operand: Operand | None
    predicates: tuple[tuple[str, Operand], ...]
    pos: int = dc_field(default=0, compare=False)  # for messages; not part of the meaning


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node: TypeAlias = Clause | HistoryClause | And | Or | Not


@dataclass(frozen=True, slots=True)
class SortKey:
    field: Field
    descending: bool | None  # None: no ASC/DESC given


@dataclass(frozen=True, slots=True)
class Query:
    where: Node | None  # None: empty query (or only ORDER BY), which matches every issue
    order_by: tuple[SortKey, ...]
    text: str
    where_text: str  # the query without ORDER BY or outer blanks: safe to wrap in parentheses


_OPERATORS: Final = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"
# Words that cannot be values unquoted (a subset of Jira's reserved words: the ones that
# matter to this grammar). EMPTY/NULL are handled as the Empty operand.
_RESERVED: Final = frozenset({"and", "or", "not", "in", "is", "order", "by", "was", "changed"})
_PREDICATES: Final = frozenset({"after", "before", "on", "during", "by", "from", "to"})
# Nesting bound, so hostile input gets a JqlSyntaxError instead of a RecursionError.
_MAX_DEPTH: Final = 100


def parse(query: str) -> Query:
    """Parse JQL; raise :class:`JqlSyntaxError` (and nothing else) on bad input."""
    return _Parser(query).query()


class _Parser:
    def __init__(self, query: str) -> None:
        self.src = query
        self.tokens = tokenize(query)
        self.i = 0
        self.depth = 0

    # -- token helpers -------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def at(self, kind: Kind) -> bool:
        # A method, not `self.tok.kind is ...`: mypy would keep that narrowing across advance().
        return self.tokens[self.i].kind is kind

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        if t.kind is not Kind.EOF:
            self.i += 1
        return t

    def is_kw(self, word: str, tok: Token | None = None) -> bool:
        t = self.tok if tok is None else tok
        return t.kind is Kind.WORD and t.text.lower() == word

    def error(self, expecting: str, *, tail: str = "") -> JqlSyntaxError:
        t = self.tok
        if t.kind is Kind.EOF:
            msg = f"Expecting {expecting} before the end of the query.{tail}"
        else:
            msg = f"Expecting {expecting} but got '{t.raw}'.{tail}"
        return JqlSyntaxError(msg, self.src, t.pos)

    # -- grammar -------------------------------------------------------------------------

    def query(self) -> Query:
        where: Node | None = None
        if not self.at(Kind.EOF) and not self._at_order_by():
            where = self.or_expr()
        # Slice by token bounds, not .strip(): the query may end in an escaped blank (x\ ).
        start = self.tokens[0].pos
        end = start
        if self.i > 0:
            last = self.tokens[self.i - 1]
            end = last.pos + len(last.raw)
        order: tuple[SortKey, ...] = ()
        if self._at_order_by():
            self.advance()
            self.advance()
            order = self.order_by()
        if not self.at(Kind.EOF):
            raise self.error("either 'OR' or 'AND'")
        return Query(
            where=where,
            order_by=order,
            text=self.src,
            where_text=self.src[start:end],
        )

    def _at_order_by(self) -> bool:
        return self.is_kw("order") and self.is_kw("by", self.peek())

    def order_by(self) -> tuple[SortKey, ...]:
        keys = [self.sort_key()]
        while self.at(Kind.COMMA):
            self.advance()
            keys.append(self.sort_key())
        return tuple(keys)

    def sort_key(self) -> SortKey:
        field = self.field()
        descending: bool | None = None
        if self.is_kw("asc") or self.is_kw("desc"):
            descending = self.advance().text.lower() == "desc"
        return SortKey(field, descending)

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.is_kw("or") or self.at(Kind.PIPEPIPE):
            self.advance()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while self.is_kw("and") or self.at(Kind.AMPAMP):
            self.advance()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def nest(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise JqlSyntaxError("The query is nested too deeply.", self.src, self.tok.pos)

    def not_expr(self) -> Node:
        self.nest()
        try:
            return self._not_expr()
        finally:
            self.depth -= 1

    def _not_expr(self) -> Node:
        if self.is_kw("not") or self.at(Kind.BANG):
            self.advance()
            return Not(self.not_expr())
        if self.at(Kind.LPAREN):
            self.advance()
            node = self.or_expr()
            if not self.at(Kind.RPAREN):
                raise self.error("')'")
            self.advance()
            return node
        return self.clause()

    def field(self) -> Field:
        t = self.tok
        if t.kind is Kind.STRING:
            self.advance()
            return Field(t.text)
        if t.kind is not Kind.WORD or t.text.lower() in _RESERVED:
            if t.kind is Kind.EOF:
                raise JqlSyntaxError(
                    "Expecting a field name at the end of the query.", self.src, t.pos
                )
            raise self.error("a field name")
        self.advance()
        if not self.at(Kind.LBRACKET):
            return Field(t.text)
        self.advance()
        inner = self.tok
        if inner.kind not in (Kind.WORD, Kind.STRING):
            raise self.error("a value")
        self.advance()
        if not self.at(Kind.RBRACKET):
            raise self.error("']'")
        self.advance()
        rest = ""
        # issue.property[key].path: the ".path" lexes as a word right after ']'.
        if self.at(Kind.WORD) and self.tok.text.startswith("."):
            rest = self.advance().text
        if t.text.lower() == "cf" and inner.text.isdigit() and not rest:
            return Field(t.text, custom_id=inner.text)
        return Field(t.text, suffix=f"[{inner.text}]{rest}")

    def clause(self) -> Node:
        pos = self.tok.pos
        field = self.field()
        t = self.tok
        if t.kind is Kind.OP:
            self.advance()
            return Clause(field, t.text, self.operand(), pos)
        if self.is_kw("in"):
            self.advance()
            return Clause(field, "in", self.list_or_function(), pos)
        if self.is_kw("not") and self.is_kw("in", self.peek()):
            self.advance()
            self.advance()
            return Clause(field, "not in", self.list_or_function(), pos)
        if self.is_kw("is"):
            self.advance()
            op = "is"
            if self.is_kw("not"):
                self.advance()
                op = "is not"
            if not (self.is_kw("empty") or self.is_kw("null")):
                raise self.error("'EMPTY' or 'NULL'")
            self.advance()
            return Clause(field, op, Empty(), pos)
        if self.is_kw("was"):
            self.advance()
            op = "was"
            if self.is_kw("not"):
                self.advance()
                op += " not"
            if self.is_kw("in"):
                self.advance()
                op += " in"
            return HistoryClause(field, op, self.operand(), self.predicates(), pos)
        if self.is_kw("changed"):
            self.advance()
            return HistoryClause(field, "changed", None, self.predicates(), pos)
        raise self.error("operator", tail=f" The valid operators are {_OPERATORS}.")

    def predicates(self) -> tuple[tuple[str, Operand], ...]:
        out: list[tuple[str, Operand]] = []
        while self.at(Kind.WORD) and self.tok.text.lower() in _PREDICATES:
            name = self.advance().text.lower()
            out.append((name, self.operand()))
        return tuple(out)

    def list_or_function(self) -> Operand:
        if self.at(Kind.LPAREN):
            return self.operand()
        if self.at(Kind.WORD) and self.peek().kind is Kind.LPAREN:
            return self.operand()
        raise self.error("'('")

    def operand(self) -> Operand:
        self.nest()
        try:
            return self._operand()
        finally:
            self.depth -= 1

    def _operand(self) -> Operand:
        t = self.tok
        if t.kind is Kind.LPAREN:
            self.advance()
            items = [self.operand()]
            while self.at(Kind.COMMA):
                self.advance()
                items.append(self.operand())
            if not self.at(Kind.RPAREN):
                raise self.error("')'")
            self.advance()
            return ListOperand(tuple(items))
        if t.kind is Kind.STRING:
            self.advance()
            return Value(t.text, quoted=True)
        if t.kind is Kind.WORD:
            low = t.text.lower()
            if low in ("empty", "null"):
                self.advance()
                return Empty()
            if low in _RESERVED:
                raise self.error(
                    "either a value, list or function",
                    tail=f" You must surround '{t.raw}' in quotation marks to use it as a value.",
                )
            self.advance()
            if self.at(Kind.LPAREN):
                return FunctionCall(t.text, self.arguments())
            return Value(t.text, quoted=False)
        if t.kind is Kind.EOF:
            raise self.error("either a value, list or function")
        raise self.error(
            "either a value, list or function",
            tail=f" You must surround '{t.raw}' in quotation marks to use it as a value.",
        )

    def arguments(self) -> tuple[str, ...]:
        self.advance()  # '('
        args: list[str] = []
        if self.at(Kind.RPAREN):
            self.advance()
            return ()
        while True:
            if not (self.at(Kind.WORD) or self.at(Kind.STRING)):
                raise self.error("a function argument")
            args.append(self.advance().text)
            if self.at(Kind.COMMA):
                self.advance()
                continue
            if self.at(Kind.RPAREN):
                self.advance()
                return tuple(args)
            raise self.error("')'")
