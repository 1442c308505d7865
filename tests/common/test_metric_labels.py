"""Metric labels stay bounded: subjects as patterns, outside values capped."""

from __future__ import annotations

import pytest
from pdjira_common.metric_labels import OTHER, BoundedLabel, subject_pattern


@pytest.mark.parametrize(
    ("subject", "pattern"),
    [
        ("commands.jira.dc1.PINC123", "commands.jira.dc1.>"),
        ("events.pd.main.Q1X2", "events.pd.main.>"),
        ("outcomes.jira.dc1", "outcomes.jira.dc1"),
        ("audit.6f1c-correlation", "audit.>"),
        ("reads.jira.dc1.createmeta", "reads.jira.dc1.createmeta"),
        ("mapping.links.lookup", "mapping.links.lookup"),
        ("_INBOX.abc.def", "_INBOX.>"),
        ("$JS.API.STREAM.INFO.EVENTS", "$JS.API.>"),
    ],
)
def test_subject_pattern(subject: str, pattern: str) -> None:
    assert subject_pattern(subject) == pattern


def test_bounded_label_keeps_the_first_values_then_says_other() -> None:
    label = BoundedLabel(3)
    assert [label(v) for v in ("a", "b", "a", "c", "d", "b")] == ["a", "b", "a", "c", OTHER, "b"]
    assert BoundedLabel(10)("has spaces and an id: 123") == OTHER
