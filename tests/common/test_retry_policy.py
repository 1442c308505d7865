"""The one retry policy, table-driven: what a failure means, whichever consumer counts it."""

from __future__ import annotations

import random

import pytest
from pdjira_common.config import RetrySettings
from pdjira_common.retry import (
    PREREQUISITE_WAIT,
    PREREQUISITE_WAIT_MAX,
    DeadLetterNow,
    Retryable,
    RetryLater,
    Unprocessable,
    WaitForPrerequisite,
    after_failure,
    is_expected,
    reason_of,
    wait_delay,
    waits_within,
)
from pdjira_common.secrets import Secret

SETTINGS = RetrySettings(base_delay=0.2, max_delay=1.0, max_attempts=3, prerequisite_max_attempts=5)


def verdict(error: BaseException, attempt: int = 1, waits: int = 0) -> object:
    return after_failure(
        error, attempt=attempt, waits=waits, settings=SETTINGS, rng=random.Random(1)
    )


def test_unprocessable_is_dead_lettered_at_once() -> None:
    assert verdict(Unprocessable("cannot decode")) == DeadLetterNow("cannot decode")


@pytest.mark.parametrize(("attempt", "retried"), [(1, True), (2, True), (3, False), (9, False)])
def test_failures_are_retried_up_to_the_bound(attempt: int, retried: bool) -> None:
    result = verdict(Retryable("Jira answered 503"), attempt=attempt)
    if retried:
        assert isinstance(result, RetryLater)
        assert result.reason == "Jira answered 503"
        assert not result.waiting
        ceiling = min(SETTINGS.max_delay, SETTINGS.base_delay * 2 ** (attempt - 1))
        assert ceiling / 2 <= result.delay <= ceiling
    else:
        assert result == DeadLetterNow("Jira answered 503")


def test_the_delay_the_vendor_asked_for_wins() -> None:
    assert verdict(Retryable("429", delay=7.25)) == RetryLater("429", 7.25)


def test_an_unexpected_exception_is_retried_like_a_failure_with_its_type_as_reason() -> None:
    Secret("s3cr3t-value")
    result = verdict(KeyError("s3cr3t-value"), attempt=1)
    assert isinstance(result, RetryLater)
    assert result.reason == "KeyError: '***'"
    assert not is_expected(KeyError("x"))
    assert verdict(KeyError("x"), attempt=3) == DeadLetterNow("KeyError: 'x'")


@pytest.mark.parametrize(("waits", "dead"), [(1, False), (4, False), (5, True)])
def test_a_missing_prerequisite_waits_on_its_own_bound(waits: int, dead: bool) -> None:
    # attempt is past max_attempts: waiting is not failing.
    result = verdict(WaitForPrerequisite("no issue yet"), attempt=7, waits=waits)
    expected = (
        DeadLetterNow("no issue yet")
        if dead
        else RetryLater("no issue yet", wait_delay(waits), waiting=True)
    )
    assert result == expected


def test_waits_start_short_and_grow_to_a_cap() -> None:
    delays = [wait_delay(n) for n in range(1, 13)]
    assert delays[:2] == [PREREQUISITE_WAIT, PREREQUISITE_WAIT]  # a link usually comes at once
    assert delays == sorted(delays)
    assert max(delays) == PREREQUISITE_WAIT_MAX
    # The default bound (60 waits) outlasts a minute of a vendor's rate limit many times over.
    assert sum(wait_delay(n) for n in range(1, 61)) >= 8 * 60
    assert sum(wait_delay(n) for n in range(1, waits_within(600) + 1)) >= 600
    assert sum(wait_delay(n) for n in range(1, waits_within(600))) < 600


def test_reasons_of_expected_failures_are_their_own() -> None:
    for error in (Retryable("a"), WaitForPrerequisite("a"), Unprocessable("a")):
        assert is_expected(error)
        assert reason_of(error) == "a"
