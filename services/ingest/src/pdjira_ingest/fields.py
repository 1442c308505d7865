"""Reading untrusted webhook JSON with errors that name the exact field that is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Fields", "WebhookRejected"]


def _json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return "null"


class WebhookRejected(Exception):
    """A webhook we refuse: ``status`` is the HTTP answer, ``code`` a stable machine-readable
    reason (also the metrics label), ``message`` says what was wrong and what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class Fields:
    """A JSON object at ``path`` (e.g. ``event.data``); accessors raise :class:`WebhookRejected`
    naming ``path.key`` and the expected type, with ``hint`` telling the sender what to check."""

    def __init__(self, data: Mapping[str, Any], path: str, *, hint: str) -> None:
        self._data = data
        self._path = path
        self._hint = hint

    @classmethod
    def root(cls, payload: Any, *, what: str, hint: str) -> Fields:
        if not isinstance(payload, Mapping):
            raise WebhookRejected(
                400,
                "invalid_payload",
                f"the body is JSON but {_json_type(payload)}, not an object; "
                f"expected a {what}. {hint}",
            )
        return cls(payload, "", hint=hint)

    def _where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def _bad(self, key: str, expected: str) -> WebhookRejected:
        value = self._data.get(key)
        problem = "is missing" if value is None else f"is {_json_type(value)}, not {expected}"
        return WebhookRejected(
            400, "invalid_payload", f"field `{self._where(key)}` {problem}. {self._hint}"
        )

    def raw(self) -> dict[str, Any]:
        """A plain-dict copy of this object as the sender wrote it (nested values shared)."""
        return dict(self._data)

    def has(self, key: str) -> bool:
        return self._data.get(key) is not None

    def obj(self, key: str) -> Fields:
        value = self._data.get(key)
        if not isinstance(value, Mapping):
            raise self._bad(key, "an object")
        return Fields(value, self._where(key), hint=self._hint)

    def opt_obj(self, key: str) -> Fields | None:
        return self.obj(key) if self.has(key) else None

    def text(self, key: str) -> str:
        value = self._data.get(key)
        if not isinstance(value, str) or not value:
            raise self._bad(key, "a non-empty string")
        return value

    def opt_text(self, key: str) -> str | None:
        value = self._data.get(key)
        return value if isinstance(value, str) else None

    def ident(self, key: str) -> str:
        """An id; Jira sends numeric ids as strings, but accept a JSON number as well."""
        value = self._data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(key)

    def opt_ident(self, key: str) -> str | None:
        return self.ident(key) if self.has(key) else None

    def integer(self, key: str) -> int:
        value = self._data.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._bad(key, "an integer")
        return value

    def array(self, key: str) -> list[Any]:
        value = self._data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(key, "an array")
        return value

    def objects(self, key: str) -> list[Fields]:
        """An optional array of objects; an element that is not an object names its index."""
        found = []
        for i, value in enumerate(self.array(key)):
            where = f"{self._where(key)}[{i}]"
            if not isinstance(value, Mapping):
                raise WebhookRejected(
                    400,
                    "invalid_payload",
                    f"field `{where}` is {_json_type(value)}, not an object. {self._hint}",
                )
            found.append(Fields(value, where, hint=self._hint))
        return found

    def scalar(self, key: str) -> str | None:
        """A changelog value: ids come as strings or numbers; keep them as text."""
        value = self._data.get(key)
        if value is None or isinstance(value, (dict, list)):
            return None
        return str(value)
