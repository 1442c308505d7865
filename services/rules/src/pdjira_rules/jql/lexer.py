"""JQL tokens: quoted and unquoted strings, operators, parentheses, commas, brackets.

Keywords (AND, OR, NOT, IN, IS, EMPTY, ...) are not decided here: the parser reads an unquoted
word as a keyword only where the grammar allows one, so ``status = "and"`` stays a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = ["JqlSyntaxError", "Kind", "Token", "tokenize"]


class JqlSyntaxError(ValueError):
    """The query cannot be parsed. ``position`` is the 0-based offset in the query;
    ``line``/``character`` are 1-based, as Jira reports them."""

    def __init__(self, message: str, query: str, position: int) -> None:
        self.message = message
        self.query = query
        self.position = max(0, min(position, len(query)))
        before = query[: self.position]
        self.line = before.count("\n") + 1
        self.character = self.position - (before.rfind("\n") + 1) + 1
        super().__init__(
            f"Error in the JQL Query: {message} (line {self.line}, character {self.character})"
        )


class Kind(Enum):
    WORD = "word"  # unquoted string: field name, value, keyword or function name
    STRING = "string"  # quoted with "..." or '...'
    OP = "op"  # = != ~ !~ < <= > >=
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    LBRACKET = "["
    RBRACKET = "]"
    AMPAMP = "&&"  # Jira's synonyms for AND / OR / NOT
    PIPEPIPE = "||"
    BANG = "!"
    EOF = "end of query"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # the decoded value (escapes resolved, quotes removed)
    raw: str  # exactly as written, for error messages and re-slicing the query
    pos: int


_ESCAPES: Final = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    " ": " ",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
# Characters that end an unquoted word. Jira reserves more (e.g. '+', '?', '*'), but accepting
# them unquoted keeps dates ("2026/11/01"), periods ("-1d") and keys ("PD-1") easy to write.
_WORD_END: Final = frozenset(" \t\r\n=!<>~(),\"'[]&|{}")


def tokenize(query: str) -> list[Token]:
    """Split ``query`` into tokens ending with an EOF token; raise JqlSyntaxError."""
    tokens: list[Token] = []
    i = 0
    n = len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
            continue
        start = i
        two = query[i : i + 2]
        if two in ("!=", "!~", "<=", ">="):
            tokens.append(Token(Kind.OP, two, two, start))
            i += 2
        elif c in "=~<>":
            tokens.append(Token(Kind.OP, c, c, start))
            i += 1
        elif two == "&&" or two == "||":
            tokens.append(Token(Kind(two), two, two, start))
            i += 2
        elif c in "&|":
            # Jira also accepts a single '&' / '|' for AND / OR.
            tokens.append(Token(Kind.AMPAMP if c == "&" else Kind.PIPEPIPE, c, c, start))
            i += 1
        elif c == "!":
            tokens.append(Token(Kind.BANG, c, c, start))
            i += 1
        elif c in "(),[]":
            tokens.append(Token(Kind(c), c, c, start))
            i += 1
        elif c in "\"'":
            text, i = _quoted(query, i)
            tokens.append(Token(Kind.STRING, text, query[start:i], start))
        elif c in "{}":
            raise JqlSyntaxError(f"The character '{c}' is a reserved JQL character.", query, i)
        else:
            text, i = _word(query, i)
            tokens.append(Token(Kind.WORD, text, query[start:i], start))
    tokens.append(Token(Kind.EOF, "", "", n))
    return tokens


def _escape(query: str, i: int, context: str) -> tuple[str, int]:
    """Decode the escape starting at the backslash ``query[i]``; return (char, next index)."""
    if i + 1 >= len(query):
        raise JqlSyntaxError(f"The escape sequence '\\' in {context} is illegal.", query, i)
    nxt = query[i + 1]
    if nxt in _ESCAPES:
        return _ESCAPES[nxt], i + 2
    if nxt == "u":
        digits = query[i + 2 : i + 6]
        if len(digits) == 4 and all(d in "0123456789abcdefABCDEF" for d in digits):
            return chr(int(digits, 16)), i + 6
    raise JqlSyntaxError(f"The escape sequence '\\{nxt}' in {context} is illegal.", query, i)


def _quoted(query: str, i: int) -> tuple[str, int]:
    quote = query[i]
    start = i
    i += 1
    out: list[str] = []
    while i < len(query):
        c = query[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\\":
            ch, i = _escape(query, i, "a quoted string")
            out.append(ch)
            continue
        out.append(c)
        i += 1
    raise JqlSyntaxError(
        f"The quoted string '{query[start + 1 :]}' has not been completed.", query, start
    )


def _word(query: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    while i < len(query) and query[i] not in _WORD_END:
        if query[i] == "\\":
            ch, i = _escape(query, i, "an unquoted string")
            out.append(ch)
            continue
        out.append(query[i])
        i += 1
    return "".join(out), i
