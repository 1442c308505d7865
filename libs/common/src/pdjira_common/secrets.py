"""Secrets: values that must never reach a log line, a trace, an audit record or an error."""

from __future__ import annotations

__all__ = ["Secret", "known_secret_values", "redact"]

_KNOWN: set[str] = set()


class Secret:
    """A string that prints as ``***``. Call :meth:`reveal` only where the value is sent out."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= 4:
            _KNOWN.add(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def known_secret_values() -> frozenset[str]:
    return frozenset(_KNOWN)


def redact(text: str) -> str:
    """``text`` with every known secret value replaced by ``***``."""
    for value in _KNOWN:
        if value in text:
            text = text.replace(value, "***")
    return text
