"""Text search (`~`, `!~`) as Jira's Lucene index answers it: words, not substrings.

Jira indexes text fields with an English analyzer (Atlassian, "Search syntax for text fields"
and "Advanced searching - operators reference", CONTAINS (~)): the text is split into words on
anything that is not a letter or digit, lower-cased, English stop words dropped and each word
stemmed (Porter), so ``summary ~ port`` does not match "reporting" while ``summary ~ reporting``
matches "reports". A query term with ``*`` / ``?`` is a wildcard matched against the unstemmed
words; a term in inner quotes (``summary ~ "\\"port scan\\""``) is a phrase: its words in order,
a stop word keeping its place.
Several terms must all be present (the simulator's choice; Lucene operators such as ``OR`` or
``-`` inside the text are not modelled).
"""

from __future__ import annotations

import fnmatch
import functools
import re

import snowballstemmer  # type: ignore[import-untyped]

__all__ = ["STOP_WORDS", "analyze", "contains"]

# Lucene's English stop words (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET), which Jira uses.
_STOP = "a an and are as at be but by for if in into is it no not of on or such that the their"
STOP_WORDS = frozenset((_STOP + " then there these they this to was will with").split(" "))
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_QUERY_PART = re.compile(r'"([^"]*)"|(\S+)')
_STEMMER = snowballstemmer.stemmer("porter")


@functools.lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    return str(_STEMMER.stemWord(word))


def _words(text: str) -> list[str]:
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in STOP_WORDS]


def _positions(text: str) -> list[str | None]:
    """The terms by position; a stop word keeps its position (None), as Lucene's StopFilter
    does, so a phrase does not match across it."""
    words = (m.group(0).lower() for m in _WORD.finditer(text))
    return [None if w in STOP_WORDS else _stem(w) for w in words]


def analyze(text: str) -> list[str]:
    """The indexed terms of ``text``, in order."""
    return [_stem(w) for w in _words(text)]


def _has_phrase(terms: list[str | None], phrase: list[str | None]) -> bool:
    while phrase and phrase[0] is None:
        phrase = phrase[1:]
    while phrase and phrase[-1] is None:
        phrase = phrase[:-1]
    if not phrase:
        return False
    n = len(phrase)
    return any(
        all(p is None or terms[i + j] == p for j, p in enumerate(phrase))
        for i in range(len(terms) - n + 1)
    )


def contains(text: str, query: str) -> bool:
    """Whether ``text`` holds every term (or phrase) of ``query``."""
    positions = _positions(text)
    terms = [t for t in positions if t is not None]
    raw = _words(text)
    wanted = 0
    for match in _QUERY_PART.finditer(query):
        phrase, term = match.group(1), match.group(2)
        if phrase is not None:
            words = _positions(phrase)
            wanted += any(words)
            if any(words) and not _has_phrase(positions, words):
                return False
            continue
        if "*" in term or "?" in term:
            pattern = term.lower()
            wanted += 1
            if not any(fnmatch.fnmatchcase(w, pattern) for w in raw):
                return False
            continue
        for word in analyze(term):
            wanted += 1
            if word not in terms:
                return False
    return wanted > 0
