"""JQL parser: Jira's grammar, tokens -> :mod:`pdjira_jql.ast`.

Grammar (as Atlassian's; keywords case-insensitive; AND binds tighter than OR, NOT tighter
than both)::

    query     := [or] [ORDER BY sort (',' sort)*] EOF
    or        := and (OR and)*                       OR: or | '||' | '|'
    and       := not (AND not)*                      AND: and | '&&' | '&'
    not       := (NOT | '!') not | '(' or ')' | field rhs
    rhs       := ('=' | '!=' | '~' | '!~') (EMPTY | value | function)
               | ('<' | '<=' | '>' | '>=') (value | function)
               | [NOT] IN (list | function)
               | IS [NOT] EMPTY                      EMPTY: empty | null
               | WAS [NOT] (EMPTY | value | function) was-pred*
               | WAS [NOT] IN (list | function) was-pred*
               | CHANGED changed-pred*
    was-pred  := (AFTER | BEFORE | ON | DURING | BY) operand
    changed-pred := (AFTER | BEFORE | ON | DURING | BY | FROM | TO) operand
    field     := number | (string | cf '[' posnumber ']') ('[' arg ']' arg*)*
    operand   := EMPTY | value | function | list
    list      := '(' operand (',' operand)* ')'
    function  := (string | number) '(' [arg (',' arg)*] ')'
    value     := string | number                     arg: string | number
    sort      := field [ASC | DESC]

``string`` is a quoted string or an unquoted word that is not a keyword, number, ``cf`` or a
reserved word (see :mod:`pdjira_jql.lexer`).
"""

from __future__ import annotations

from typing import Final

from pdjira_jql.ast import (
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
)
from pdjira_jql.lexer import JqlSyntaxError, Kind, Token, tokenize

__all__ = ["parse"]

_OPERATORS: Final = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS',"
    " 'IS NOT', 'WAS', 'WAS IN', 'WAS NOT', 'WAS NOT IN' and 'CHANGED'."
)
_WAS_PREDICATES: Final = frozenset({"AFTER", "BEFORE", "ON", "DURING", "BY"})
_CHANGED_PREDICATES: Final = _WAS_PREDICATES | {"FROM", "TO"}
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

    def at(self, *kinds: Kind) -> bool:
        return self.tokens[self.i].kind in kinds

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        if t.kind is not Kind.EOF:
            self.i += 1
        return t

    def is_kw(self, *words: str, tok: Token | None = None) -> bool:
        t = self.tok if tok is None else tok
        return t.kind is Kind.KEYWORD and t.text in words

    def error(self, expecting: str, *, tail: str = "", as_what: str = "") -> JqlSyntaxError:
        """``Expecting <expecting> but got '<token>'.`` at the current token; a bad
        character or a reserved word is reported as such first, as Jira does."""
        t = self.tok
        if t.kind is Kind.BAD:
            return JqlSyntaxError(t.text, self.src, t.pos)
        if t.kind is Kind.EOF:
            where = "at" if expecting == "a field name" else "before"
            msg = f"Expecting {expecting} {where} the end of the query.{tail}"
            return JqlSyntaxError(msg, self.src, t.pos)
        if as_what and t.kind is Kind.RESERVED:
            msg = (
                f"'{t.raw}' is a reserved JQL word. You must surround it in quotation marks"
                f" to use it as {as_what}."
            )
            return JqlSyntaxError(msg, self.src, t.pos)
        if as_what and t.kind not in (Kind.LPAREN, Kind.RPAREN, Kind.WORD, Kind.STRING):
            tail = f"{tail} You must surround '{t.raw}' in quotation marks to use it as {as_what}."
        return JqlSyntaxError(f"Expecting {expecting} but got '{t.raw}'.{tail}", self.src, t.pos)

    def expect(self, kind: Kind, what: str) -> Token:
        if not self.at(kind):
            raise self.error(what)
        return self.advance()

    def nest(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise JqlSyntaxError("The query is nested too deeply.", self.src, self.tok.pos)

    # -- query, ORDER BY -----------------------------------------------------------------

    def query(self) -> Query:
        where: Node | None = None
        if not self.at(Kind.EOF) and not self.is_kw("ORDER"):
            where = self.or_expr()
        # Slice by token bounds, not .strip(): the query may end in an escaped blank (x\ ).
        start = self.tokens[0].pos
        end = start
        if self.i > 0:
            last = self.tokens[self.i - 1]
            end = last.pos + len(last.raw)
        order: tuple[SortKey, ...] = ()
        if self.is_kw("ORDER"):
            self.advance()
            if not self.is_kw("BY"):
                raise self.error("'BY'")
            self.advance()
            order = self.order_by()
            if not self.at(Kind.EOF):
                raise self.error("',' or the end of the query")
        if not self.at(Kind.EOF):
            if where is None:
                raise self.error("a field name", as_what="a field name")
            raise self.error("either 'OR' or 'AND'")
        return Query(where=where, order_by=order, text=self.src, where_text=self.src[start:end])

    def order_by(self) -> tuple[SortKey, ...]:
        keys = [self.sort_key()]
        while self.at(Kind.COMMA):
            self.advance()
            keys.append(self.sort_key())
        return tuple(keys)

    def sort_key(self) -> SortKey:
        field = self.field()
        descending: bool | None = None
        if self.is_kw("ASC", "DESC"):
            descending = self.advance().text == "DESC"
        return SortKey(field, descending)

    # -- boolean structure ---------------------------------------------------------------

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.is_kw("OR"):
            self.advance()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.not_expr()]
        while self.is_kw("AND"):
            self.advance()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Node:
        self.nest()
        try:
            if self.is_kw("NOT") or self.at(Kind.BANG):
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
        finally:
            self.depth -= 1

    # -- fields --------------------------------------------------------------------------

    def field(self) -> Field:
        t = self.tok
        if t.kind is Kind.NUMBER:
            self.advance()
            return Field(t.text)
        if t.kind in (Kind.WORD, Kind.STRING):
            self.advance()
            name, custom_id = t.text, None
        elif t.kind is Kind.CF:
            self.advance()
            self.expect(Kind.LBRACKET, "'['")
            num = self.tok
            if num.kind is not Kind.NUMBER or num.text.startswith("-"):
                raise self.error(
                    "a custom field id (a positive number)",
                    tail=" Write a custom field as cf[12345] or by its quoted name.",
                )
            self.advance()
            self.expect(Kind.RBRACKET, "']'")
            name, custom_id = t.raw, num.text
        else:
            raise self.error("a field name", as_what="a field name")
        props: list[FieldProperty] = []
        first = self.tok.pos
        while self.at(Kind.LBRACKET):
            self.advance()
            key = self.argument("a property key")
            self.expect(Kind.RBRACKET, "']'")
            path: list[str] = []
            while self.at(Kind.WORD, Kind.STRING, Kind.NUMBER):
                path.append(self.advance().text)
            props.append(FieldProperty(key, tuple(path)))
        if not props:
            return Field(name, custom_id=custom_id)
        last = self.tokens[self.i - 1]
        suffix = self.src[first : last.pos + len(last.raw)]
        return Field(name, custom_id=custom_id, suffix=suffix, properties=tuple(props))

    def argument(self, what: str) -> str:
        if not self.at(Kind.WORD, Kind.STRING, Kind.NUMBER):
            raise self.error(what, as_what=what)
        return self.advance().text

    # -- clauses -------------------------------------------------------------------------

    def clause(self) -> Node:
        pos = self.tok.pos
        field = self.field()
        t = self.tok
        if t.kind is Kind.OP:
            self.advance()
            if t.text in ("<", "<=", ">", ">="):
                operand = self.single(t.text, empty=False)
            else:
                operand = self.single(t.text, empty=True)
            return Clause(field, t.text, operand, pos)
        if self.is_kw("IN") or (self.is_kw("NOT") and self.is_kw("IN", tok=self.peek())):
            op = "in"
            if self.advance().text == "NOT":
                self.advance()
                op = "not in"
            return Clause(field, op, self.list_or_function(op), pos)
        if self.is_kw("IS"):
            self.advance()
            op = "is"
            if self.is_kw("NOT"):
                self.advance()
                op = "is not"
            if not self.is_kw("EMPTY"):
                raise self.error("'EMPTY' or 'NULL'", tail=f" '{op.upper()}' only takes EMPTY.")
            self.advance()
            return Clause(field, op, Empty(), pos)
        if self.is_kw("WAS"):
            self.advance()
            op = "was"
            if self.is_kw("NOT"):
                self.advance()
                op = "was not"
            hist: Operand
            if self.is_kw("IN"):
                self.advance()
                op += " in"
                hist = self.list_or_function(op)
            else:
                hist = self.single(op, empty=True)
            return HistoryClause(field, op, hist, self.predicates(_WAS_PREDICATES), pos)
        if self.is_kw("CHANGED"):
            self.advance()
            return HistoryClause(field, "changed", None, self.predicates(_CHANGED_PREDICATES), pos)
        raise self.error("operator", tail=f" {_OPERATORS}")

    def predicates(self, allowed: frozenset[str]) -> tuple[tuple[str, Operand], ...]:
        out: list[tuple[str, Operand]] = []
        while self.at(Kind.KEYWORD) and self.tok.text in allowed:
            name = self.advance().text.lower()
            out.append((name, self.operand()))
        return tuple(out)

    # -- operands ------------------------------------------------------------------------

    def single(self, op: str, *, empty: bool) -> Operand:
        """The operand of ``=``, ``~``, ``<``, ``WAS`` ...: a value, a function or (if
        ``empty``) EMPTY; never a list."""
        if empty and self.is_kw("EMPTY"):
            self.advance()
            return Empty()
        if self.at(Kind.WORD, Kind.STRING, Kind.NUMBER):
            return self.value_or_function()
        what = "either a value, list or function"
        if self.at(Kind.LPAREN):
            tail = f" The operator '{op.upper()}' does not take a list; use 'IN' for a list."
            raise self.error("either a value or function", tail=tail)
        if not empty and self.is_kw("EMPTY"):
            raise self.error(what, tail=f" Use 'IS EMPTY' instead of '{op} EMPTY'.")
        raise self.error(what, as_what="a value")

    def list_or_function(self, op: str) -> Operand:
        if self.at(Kind.LPAREN):
            return self.list()
        if self.at(Kind.WORD, Kind.STRING, Kind.NUMBER) and self.peek().kind is Kind.LPAREN:
            return self.value_or_function()
        raise self.error("'('", tail=f" '{op.upper()}' takes a list such as (a, b) or a function.")

    def operand(self) -> Operand:
        if self.is_kw("EMPTY"):
            self.advance()
            return Empty()
        if self.at(Kind.LPAREN):
            return self.list()
        if self.at(Kind.WORD, Kind.STRING, Kind.NUMBER):
            return self.value_or_function()
        raise self.error("either a value, list or function", as_what="a value")

    def list(self) -> ListOperand:
        self.nest()
        try:
            self.advance()  # '('
            items = [self.operand()]
            while self.at(Kind.COMMA):
                self.advance()
                items.append(self.operand())
            if not self.at(Kind.RPAREN):
                raise self.error("')'")
            self.advance()
            return ListOperand(tuple(items))
        finally:
            self.depth -= 1

    def value_or_function(self) -> Operand:
        t = self.advance()
        if not self.at(Kind.LPAREN):
            return Value(t.text, quoted=t.kind is Kind.STRING, number=t.kind is Kind.NUMBER)
        self.advance()  # '('
        args: list[str] = []
        if not self.at(Kind.RPAREN):
            args.append(self.argument("a function argument"))
            while self.at(Kind.COMMA):
                self.advance()
                args.append(self.argument("a function argument"))
            if not self.at(Kind.RPAREN):
                raise self.error("')'")
        self.advance()
        return FunctionCall(t.text, tuple(args))
