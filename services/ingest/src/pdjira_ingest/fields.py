"""Reading untrusted webhook JSON with errors that name the exact field that is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pdjira_common import subjects

__all__ = [
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "MAX_INT",
    "MAX_YEAR",
    "MIN_YEAR",
    "Fields",
    "WebhookRejected",
    "check_shape",
    "check_token",
    "shape_check_needed",
]

# An id that becomes a NATS subject token, part of a Nats-Msg-Id or a KV key: vendor ids are
# short (PagerDuty: alphanumerics and UUIDs; Jira: numbers and keys like ABC-123), so anything
# longer or with other characters is not one. `.`, `*`, `>` and whitespace would split or
# wildcard a subject; a long one makes nats-server close the connection (control line limit).
MAX_ID_LENGTH: Final = subjects.MAX_ID
# Deeper JSON than this is no webhook either vendor sends (Jira issues nest about 6 deep).
MAX_DEPTH: Final = 64
# Every integer of a webhook must fit a signed 64-bit integer (what the vendors and our
# consumers can hold); larger ones are refused rather than carried on the bus.
MAX_INT: Final = 2**63 - 1
# Times a webhook reports: anything outside these years is not a real event time.
MIN_YEAR: Final = 2000
MAX_YEAR: Final = 2100
_MIN_MS: Final = int(datetime(MIN_YEAR, 1, 1, tzinfo=UTC).timestamp() * 1000)
_MAX_MS: Final = int(datetime(MAX_YEAR, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)
# Every digit as 9, and the run of 19 of them (MAX_INT has 19 digits: an integer beyond it has
# at least as many): bytes.translate and bytes.find are single C passes, faster than a regex.
_DIGITS_AS_NINE: Final = bytes.maketrans(b"0123456789", b"9" * 10)
_LONG_DIGITS: Final = b"9" * len(str(MAX_INT))


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


def _invalid(where: str, rule: str, hint: str = "") -> WebhookRejected:
    return WebhookRejected(
        400, "invalid_field", f"field `{where}` {rule}." + (f" {hint}" if hint else "")
    )


def check_token(value: str, where: str, hint: str = "") -> str:
    """``value`` if it is a safe id (subject token / key part); else a 400 naming ``where``."""
    problem = subjects.id_problem(value)
    if problem is not None:
        raise _invalid(where, problem, hint if len(value) <= MAX_ID_LENGTH else "")
    return value


def check_shape(payload: Any) -> None:
    """Refuse (400) JSON nested deeper than :data:`MAX_DEPTH` or with an integer beyond 64 bits.

    Iterative, so it cannot itself run out of stack; one pass over the decoded body."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            if isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_INT:
                raise WebhookRejected(
                    400,
                    "invalid_field",
                    f"the body has an integer with {len(str(abs(node)))} digits; webhook "
                    "numbers must fit in 64 bits",
                )
            continue
        if depth > MAX_DEPTH:
            raise WebhookRejected(
                400,
                "too_deep",
                f"the body's JSON is nested more than {MAX_DEPTH} levels deep; no webhook is",
            )
        stack.extend((child, depth + 1) for child in children)


def shape_check_needed(raw_body: bytes) -> bool:
    """False when the JSON ``raw_body`` cannot fail :func:`check_shape`, seen from its bytes (a
    few C scans instead of a walk over every decoded value): every array or object opens with a
    ``[`` or ``{`` (more of them may be in strings), so with at most :data:`MAX_DEPTH` of those no
    value nests deeper; and an integer beyond :data:`MAX_INT` needs a run of 19 digits."""
    return raw_body.count(b"{") + raw_body.count(
        b"["
    ) > MAX_DEPTH or _LONG_DIGITS in raw_body.translate(_DIGITS_AS_NINE)


class Fields:
    """A JSON object at ``path`` (e.g. ``event.data``); accessors raise :class:`WebhookRejected`
    naming ``path.key`` and the expected type, with ``hint`` telling the sender what to check."""

    def __init__(self, data: Mapping[str, Any], path: str, *, hint: str) -> None:
        self._data = data
        self._path = path
        self._hint = hint

    @classmethod
    def root(cls, payload: Any, *, what: str, hint: str) -> Fields:
        if type(payload) is not dict and not isinstance(payload, Mapping):
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
        # A decoded body's objects are dicts: the exact type test spares the ABC's (slower) one.
        if type(value) is not dict and not isinstance(value, Mapping):
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

    def count(self, key: str, *, maximum: int = 2**53 - 1) -> int:
        """A non-negative integer up to ``maximum`` (a number, a sequence number)."""
        value = self.integer(key)
        if not 0 <= value <= maximum:
            raise _invalid(self._where(key), f"is {value}, not between 0 and {maximum}", self._hint)
        return value

    def epoch_ms(self, key: str) -> int:
        """A time in milliseconds since the epoch, within the years MIN_YEAR..MAX_YEAR."""
        value = self.integer(key)
        if not _MIN_MS <= value <= _MAX_MS:
            raise _invalid(
                self._where(key),
                f"is {value}, not a time in milliseconds since 1970 between the years "
                f"{MIN_YEAR} and {MAX_YEAR}",
                self._hint,
            )
        return value

    def iso_time(self, key: str) -> str:
        """An ISO 8601 time (as the vendor wrote it) within the years MIN_YEAR..MAX_YEAR."""
        text = self.text(key)
        try:
            parsed = datetime.fromisoformat(text) if len(text) <= 64 else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise _invalid(self._where(key), "is not an ISO 8601 time", self._hint)
        if not MIN_YEAR <= parsed.year <= MAX_YEAR:
            raise _invalid(
                self._where(key),
                f"is in the year {parsed.year}, not between {MIN_YEAR} and {MAX_YEAR}",
                self._hint,
            )
        return text

    def token(self, key: str) -> str:
        """An id that becomes a subject token or key part: :func:`check_token`."""
        value = self._data.get(key)
        if type(value) is str and subjects.id_problem(value) is None:
            return value  # what the checks below return for it, in fewer steps
        return check_token(self.ident(key), self._where(key), self._hint)

    def opt_token(self, key: str) -> str | None:
        return self.token(key) if self.has(key) else None

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
