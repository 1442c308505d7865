"""Text search as Jira's index answers it ([TXT] Atlassian, "Search syntax for text fields";
[OPS] "Advanced searching - operators reference", CONTAINS (~)): words after English analysis
(split on non-letters/digits, lower case, stop words dropped, Porter stems), not substrings."""

from __future__ import annotations

import pytest
from pdjira_simulators.jira.jql_text import analyze, contains


def test_analysis_splits_lowercases_drops_stop_words_and_stems() -> None:
    assert analyze("The Reports were LATE on db-1, reporting_jobs!") == [
        "report",
        "were",
        "late",
        "db",
        "1",
        "report",
        "job",
    ]


@pytest.mark.parametrize(
    ("text", "query", "expected"),
    [
        ("Port scan detected", "port", True),  # [TXT] a word
        ("Weekly reporting job failed", "port", False),  # not a substring
        ("Weekly reporting job failed", "reports", True),  # [TXT] stemming: same stem
        ("Database reports slow queries", "reporting", True),
        ("Disk full on db-1", "DISK", True),  # case-insensitive
        ("Disk full on db-1", "db-1", True),  # split like the text
        ("Disk full on db-1", "disk network", False),  # every word must be there
        ("Disk full on db-1", "port*", False),  # [TXT] wildcard *
        ("Port scan detected", "po?t", True),  # [TXT] wildcard ? (one character)
        ("Port scan detected", '"port scan"', True),  # [TXT] phrase: in this order
        ("Port scan detected", '"scan port"', False),
        ("Scanning ports", '"scan port"', True),  # phrases match stems
        ("Scanning the ports", '"scan port"', False),  # a stop word keeps its place
        ("Scanning the ports", '"scanned a port"', True),  # any stop word in that place
        ("Port scan detected", "the", False),  # only stop words: nothing to find
    ],
)
def test_contains(text: str, query: str, expected: bool) -> None:
    assert contains(text, query) is expected
