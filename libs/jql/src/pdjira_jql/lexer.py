"""JQL tokens, split exactly as Jira's JQL lexer splits them.

Rules (checked against Atlassian's grammar, ``tests/jql/oracle.json``):

* Whitespace is only space, tab, CR and LF.
* An unquoted string is a run of characters that are not whitespace, control characters,
  quotes, a backslash, JQL's operator characters ``= ! < > ( ) ~ , [ ] | &`` or its reserved
  characters ``{ } * / % + ^ $ # @ ? ;``; a backslash is allowed only as a valid escape
  (``\\t \\n \\r \\" \\' \\\\ \\<space>`` and ``\\uXXXX``). So ``2024/01/01``, ``a+b`` and
  ``john@example.com`` must be quoted, while ``PD-1``, ``-1d`` and ``a.b`` need not be.
* A word is a keyword only if it is *written* as exactly that keyword (case-insensitive, ASCII):
  ``and`` is AND, ``\\u0061nd`` is the value "and". The same holds for numbers (``12``, ``-3``),
  ``cf`` (only usable as ``cf[12345]``) and Jira's reserved words (``date``, ``user``, ``select``
  ...), which can be neither fields nor values unless quoted.
* Quoted strings ("..." or '...') may hold anything but their own quote, a bare backslash or a
  control character (a tab must be written ``\\t``; a line break may appear as is).

Characters the grammar never accepts become one ``BAD`` token carrying Jira's message; lexing
stops there (the parser reports an earlier error first, if there is one).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

__all__ = ["KEYWORDS", "RESERVED_WORDS", "JqlSyntaxError", "Kind", "Token", "tokenize"]


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
    WORD = "word"  # unquoted string (not a keyword, number, cf or reserved word)
    STRING = "string"  # quoted with "..." or '...'
    NUMBER = "number"  # 123 or -123, written without quotes or escapes
    KEYWORD = "keyword"  # text: the keyword in upper case (AND, OR, IN, EMPTY, ...)
    CF = "cf"  # the custom-field prefix `cf`
    RESERVED = "reserved"  # one of Jira's reserved words, unquoted
    OP = "op"  # = != ~ !~ < <= > >=
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    LBRACKET = "["
    RBRACKET = "]"
    BANG = "!"
    BAD = "bad"  # text: the error message; always followed by EOF
    EOF = "end of query"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # decoded value (escapes resolved, quotes removed); keyword in upper case
    raw: str  # exactly as written, for error messages and re-slicing the query
    pos: int


# Keywords of the grammar. NULL is a spelling of EMPTY; && and & of AND; || and | of OR.
KEYWORDS: Final = frozenset(
    {
        "AND", "OR", "NOT", "IN", "IS", "EMPTY", "NULL", "WAS", "CHANGED",
        "BEFORE", "AFTER", "FROM", "TO", "ON", "DURING", "ORDER", "BY", "ASC", "DESC",
    }
)  # fmt: skip

# Jira's reserved words (JqlStringSupportImpl): unusable unquoted as fields, values, function
# names or arguments. Keywords above are not repeated here.
_RESERVED_WORDS_TEXT: Final = """
    abort access add alias alter any as audit avg begin between boolean break byte catch char
    character check checkpoint collate collation column commit connect continue count create
    current date decimal declare decrement default defaults define delete delimiter difference
    distinct divide do double drop else encoding end equals escape exclusive exec execute exists
    explain false fetch file field first float for function go goto grant greater group having
    identified if immediate increment index initial inner inout input insert int integer
    intersect intersection into isempty isnull join last left less like limit lock long max min
    minus mode modify modulo more multiply next noaudit notin nowait number object of option
    outer output power previous prior privileges public raise raw remainder rename resource
    return returns revoke right row rowid rownum rows select session set share size sqrt start
    strict string subtract sum synonym table then trans transaction trigger true uid union
    unique update user validate values view when whenever where while with
    """
RESERVED_WORDS: Final = frozenset(_RESERVED_WORDS_TEXT.split())

_WHITESPACE: Final = frozenset(" \t\r\n")
_OPERATOR_CHARS: Final = frozenset("\"'=!<>()~,[]|&\\")
_RESERVED_CHARS: Final = frozenset("{}*/%+^$#@?;")
_ESCAPES: Final = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "'": "'", "\\": "\\", " ": " "}
_HEX: Final = frozenset("0123456789abcdefABCDEF")
_DIGITS: Final = frozenset("0123456789")


def _is_control(c: str) -> bool:
    o = ord(c)
    return (
        o <= 0x09
        or 0x0B <= o <= 0x0C
        or 0x0E <= o <= 0x1F
        or 0x7F <= o <= 0x9F
        or 0xFDD0 <= o <= 0xFDEF
        or 0xFFFE <= o <= 0xFFFF
    )


def _unquoted_char(c: str) -> bool:
    return not (c in _WHITESPACE or c in _OPERATOR_CHARS or c in _RESERVED_CHARS or _is_control(c))


def _java_escape(c: str) -> str:
    return "\\u" + "".join(f"{ord(unit):04x}" for unit in _utf16_units(c))


def _utf16_units(c: str) -> list[str]:
    data = c.encode("utf-16-be")
    return [chr(int.from_bytes(data[i : i + 2], "big")) for i in range(0, len(data), 2)]


def tokenize(query: str) -> list[Token]:
    """Split ``query`` into tokens ending with EOF (after a ``BAD`` token, if any)."""
    tokens: list[Token] = []
    i = 0
    n = len(query)
    while i < n:
        c = query[i]
        if c in _WHITESPACE:
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
        elif two in ("&&", "||"):
            tokens.append(Token(Kind.KEYWORD, "AND" if c == "&" else "OR", two, start))
            i += 2
        elif c in "&|":
            tokens.append(Token(Kind.KEYWORD, "AND" if c == "&" else "OR", c, start))
            i += 1
        elif c == "!":
            tokens.append(Token(Kind.BANG, c, c, start))
            i += 1
        elif c in "(),[]":
            tokens.append(Token(Kind(c), c, c, start))
            i += 1
        elif c in "\"'":
            tok, i = _quoted(query, i)
            tokens.append(tok)
        elif c in _RESERVED_CHARS:
            msg = (
                f"The character '{c}' is a reserved JQL character. You must enclose it in a "
                f"string or use the escape '{_java_escape(c)}' instead."
            )
            tokens.append(Token(Kind.BAD, msg, c, start))
        elif c == "\\" or _unquoted_char(c):
            tok, i = _unquoted(query, i)
            tokens.append(tok)
        else:
            msg = (
                f"The character '{_java_escape(c)}' is illegal in JQL: remove it, or write it"
                " inside a quoted string as its escape."
            )
            tokens.append(Token(Kind.BAD, msg, c, start))
        if tokens[-1].kind is Kind.BAD:
            break
    tokens.append(Token(Kind.EOF, "", "", n))
    return tokens


def _escape_at(query: str, i: int) -> tuple[str, int] | None:
    """The escape at backslash ``query[i]`` as (char, next index), or None if illegal."""
    nxt = query[i + 1 : i + 2]
    if nxt in _ESCAPES:
        return _ESCAPES[nxt], i + 2
    if nxt == "u":
        digits = query[i + 2 : i + 6]
        if len(digits) == 4 and all(d in _HEX for d in digits):
            return chr(int(digits, 16)), i + 6
    return None


def _bad_escape(query: str, i: int, where: str) -> Token:
    seq = query[i : i + 2]
    if len(seq) < 2:
        msg = f"The escape sequence '\\' at the end of {where} is illegal."
    elif seq[1] == "u":
        msg = (
            f"The escape sequence '{query[i : i + 6]}' in {where} is illegal: '\\u' must be"
            " followed by four hexadecimal digits."
        )
    else:
        msg = (
            f"The escape sequence '{seq}' in {where} is illegal. Valid escapes are \\t \\n \\r"
            " \\\" \\' \\\\ '\\ ' and \\uXXXX."
        )
    return Token(Kind.BAD, msg, query[i : i + 2], i)


def _quoted(query: str, i: int) -> tuple[Token, int]:
    quote = query[i]
    start = i
    i += 1
    out: list[str] = []
    while i < len(query):
        c = query[i]
        if c == quote:
            return Token(Kind.STRING, "".join(out), query[start : i + 1], start), i + 1
        if c == "\\":
            esc = _escape_at(query, i)
            if esc is None:
                return _bad_escape(query, i, "a quoted string"), len(query)
            out.append(esc[0])
            i = esc[1]
            continue
        if _is_control(c):
            msg = (
                f"The quoted string contains the illegal character '{_java_escape(c)}'."
                f" Write it as the escape '{_java_escape(c)}'"
                + (" (or \\t)." if c == "\t" else ".")
            )
            return Token(Kind.BAD, msg, c, i), len(query)
        out.append(c)
        i += 1
    text = query[start + 1 :]
    msg = (
        f"The quoted string '{text}' has not been completed."
        if text.strip()
        else "The quoted string has not been completed."
    )
    return Token(Kind.BAD, msg, query[start:], start), len(query)


def _unquoted(query: str, i: int) -> tuple[Token, int]:
    start = i
    out: list[str] = []
    while i < len(query):
        c = query[i]
        if c == "\\":
            esc = _escape_at(query, i)
            if esc is None:
                if i == start:
                    return _bad_escape(query, i, "an unquoted string"), len(query)
                break  # the word ends here; the bad escape is the next token
            out.append(esc[0])
            i = esc[1]
            continue
        if not _unquoted_char(c):
            break
        out.append(c)
        i += 1
    raw = query[start:i]
    return _classify(raw, "".join(out), start), i


def _classify(raw: str, text: str, pos: int) -> Token:
    upper = raw.upper() if raw.isascii() else ""
    if upper in KEYWORDS:
        return Token(Kind.KEYWORD, "EMPTY" if upper == "NULL" else upper, raw, pos)
    digits = raw[1:] if raw.startswith("-") else raw
    if digits and all(d in _DIGITS for d in digits):
        return Token(Kind.NUMBER, raw, raw, pos)
    if upper == "CF":
        return Token(Kind.CF, raw, raw, pos)
    if upper.lower() in RESERVED_WORDS:
        return Token(Kind.RESERVED, raw, raw, pos)
    return Token(Kind.WORD, text, raw, pos)
