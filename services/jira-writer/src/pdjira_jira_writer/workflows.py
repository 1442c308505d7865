"""The workflow as pdjira has seen it: per (instance, project, issue type), the transitions Jira
offered from each status (learned from every ``GET .../transitions``), so that a whole path is
planned before the issue moves. Jira shows no workflow graph to a non-admin, only the
transitions out of an issue's current status; a picture that turns out wrong (a 400) or old
(``ttl``) is learned again."""

from __future__ import annotations

import time
from collections.abc import Callable

from pdjira_jira_writer.models import Transition

__all__ = ["WORKFLOW_TTL", "WorkflowKey", "Workflows"]

WORKFLOW_TTL = 600.0  # seconds a status's transitions are trusted without asking Jira again
WorkflowKey = tuple[str, str, str]  # instance, project id, issue type id


class Workflows:
    """``known(key)``: the fresh part of the graph; ``learn``: what Jira just offered."""

    def __init__(
        self, *, ttl: float = WORKFLOW_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._graphs: dict[WorkflowKey, dict[str, tuple[float, tuple[Transition, ...]]]] = {}

    def known(self, key: WorkflowKey) -> dict[str, tuple[Transition, ...]]:
        """Status name -> the transitions Jira offered from it (a copy: plan on it freely)."""
        now = self._clock()
        graph = self._graphs.get(key, {})
        return {s: ts for s, (seen, ts) in graph.items() if now - seen < self._ttl}

    def forget(self, key: WorkflowKey, status: str) -> None:
        """What was learned for ``status`` may be another status's (the issue moved meanwhile)."""
        self._graphs.get(key, {}).pop(status.strip().casefold(), None)

    def learn(self, key: WorkflowKey, status: str, transitions: tuple[Transition, ...]) -> None:
        self._graphs.setdefault(key, {})[status.strip().casefold()] = (self._clock(), transitions)
