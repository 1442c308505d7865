"""The one retry policy: after a handler failed, retry after a delay, or dead-letter now.

Both ways of consuming use it: FastStream subscribers (``bus``: a retry is a delayed nak, the
count is the server's delivery count) and per-entity lanes (``lanes``: a retry happens in place,
the lane counts). Each passes its counts; what a failure means is decided here, once:

- :class:`Unprocessable` (e.g. a body that does not decode): dead-letter at once, retrying
  cannot help and on an ordered consumer would hold up what comes behind it;
- :class:`PermanentFailure` (the vendor refused for good, its failure outcome is out):
  dead-letter at once too, so that ``pdjira dlq replay`` redoes it once the cause is fixed;
- :class:`WaitForPrerequisite`: not a failure, wait and try again, up to
  ``prerequisite_max_attempts`` waits: :data:`PREREQUISITE_WAIT` at first (a link usually comes
  within seconds), growing to :data:`PREREQUISITE_WAIT_MAX` (a create held back by a vendor's
  rate limit or an outage takes minutes, and must not be given up on in one);
- :class:`Retryable` and any other exception: retry after the delay the vendor asked for, else
  an exponential, jittered backoff, up to ``max_attempts``; then dead-letter with the reason.

Retries are never immediate (a plain nak burns ``max_deliver`` in milliseconds), always bounded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from pdjira_common.config import RetrySettings
from pdjira_common.secrets import redact

__all__ = [
    "PREREQUISITE_WAIT",
    "PREREQUISITE_WAIT_MAX",
    "DeadLetterNow",
    "PermanentFailure",
    "Postponed",
    "RetryLater",
    "Retryable",
    "Unprocessable",
    "Verdict",
    "WaitForPrerequisite",
    "after_failure",
    "is_expected",
    "reason_of",
    "retry_delay",
    "wait_delay",
    "waits_within",
]

PREREQUISITE_WAIT = 1.0  # seconds between the first looks for a missing prerequisite
PREREQUISITE_WAIT_MAX = 10.0  # ... doubling every second wait up to this


def wait_delay(waits: int) -> float:
    """Seconds before the next look after ``waits`` looks found the prerequisite missing:
    1, 1, 2, 2, 4, 4, 8, 8, 10, 10, ... (60 waits span about nine minutes)."""
    return min(PREREQUISITE_WAIT_MAX, PREREQUISITE_WAIT * 2.0 ** (max(waits - 1, 0) // 2))


def waits_within(seconds: float) -> int:
    """How many waits it takes for ``seconds`` to pass (at least one)."""
    waits, waited = 0, 0.0
    while waited < seconds:
        waits += 1
        waited += wait_delay(waits)
    return max(waits, 1)


class Retryable(Exception):
    """A transient failure (timeout, 5xx, 429): retry later (after ``delay`` if the server said)."""

    def __init__(self, reason: str, *, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class WaitForPrerequisite(Exception):
    """The command cannot run yet (e.g. the issue it needs is not created): wait, do not fail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Postponed(WaitForPrerequisite):
    """Our own pacing holds the command back (the vendor's rate budget is spent for now): it
    waits ``delay`` seconds, counted as a wait like a missing prerequisite, not as a failure."""

    def __init__(self, reason: str, *, delay: float) -> None:
        super().__init__(reason)
        self.delay = delay


class Unprocessable(Exception):
    """The message can never be handled (e.g. it does not decode): dead-letter it at once.

    Retrying cannot help, and on an ordered consumer every retry holds up the messages behind it.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PermanentFailure(Exception):
    """The command failed for good (a 4xx that will not fix itself, no transition path...) and
    its failure outcome is published: keep it in the DLQ with ``reason`` (what to fix), to be
    replayed after the fix, instead of only a log line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_OWN_FAILURES = (Retryable, WaitForPrerequisite, Unprocessable, PermanentFailure)


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Try the message again after ``delay`` seconds; ``waiting`` when only a prerequisite is
    missing (counted as a wait, not as a failed attempt)."""

    reason: str
    delay: float
    waiting: bool = False


@dataclass(frozen=True, slots=True)
class DeadLetterNow:
    """Give up: copy the message to the DLQ with ``reason``, then ack it."""

    reason: str


Verdict = RetryLater | DeadLetterNow


def retry_delay(attempt: int, settings: RetrySettings, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter on the upper half: base * 2^(attempt-1), capped."""
    rng = rng or random.Random()
    ceiling = min(settings.max_delay, settings.base_delay * (2.0 ** max(attempt - 1, 0)))
    return ceiling / 2 + rng.random() * ceiling / 2


def is_expected(error: BaseException) -> bool:
    """One of the failures handlers raise on purpose (anything else is a bug worth a trace)."""
    return isinstance(error, _OWN_FAILURES)


def reason_of(error: BaseException) -> str:
    """What goes into logs and dead letters: the handler's own reason, else the exception."""
    if isinstance(error, _OWN_FAILURES):
        return error.reason
    return redact(f"{type(error).__name__}: {error}")


def after_failure(
    error: BaseException,
    *,
    attempt: int,
    waits: int,
    settings: RetrySettings,
    rng: random.Random | None = None,
) -> Verdict:
    """What to do with a message whose handling just raised ``error``.

    ``attempt`` counts the tries that failed so far, this one included; ``waits`` the times a
    prerequisite was missing, this one included (a consumer that cannot tell them apart passes
    the delivery count for both)."""
    reason = reason_of(error)
    if isinstance(error, Unprocessable | PermanentFailure):
        return DeadLetterNow(reason)
    if isinstance(error, WaitForPrerequisite):
        if waits >= settings.prerequisite_max_attempts:
            return DeadLetterNow(reason)
        delay = error.delay if isinstance(error, Postponed) else wait_delay(waits)
        return RetryLater(reason, round(delay, 3), waiting=True)
    if attempt >= settings.max_attempts:
        return DeadLetterNow(reason)
    asked = error.delay if isinstance(error, Retryable) else None
    delay = asked if asked is not None else retry_delay(attempt, settings, rng)
    return RetryLater(reason, round(delay, 3))
