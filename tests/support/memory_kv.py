"""A KV bucket in memory with compare-and-set, for what keeps shared state in NATS KV
(``SharedBudget``) on virtual time."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from pdjira_common.shared_budget import BudgetState

__all__ = ["MemoryKv"]


@dataclass
class _Entry:
    value: bytes
    revision: int


class MemoryKv:
    """The three calls the budget makes, with compare-and-set; ``broken`` = NATS is gone."""

    def __init__(self) -> None:
        self.entries: dict[str, _Entry] = {}
        self.revision = 0
        self.broken = False
        self.writes = 0

    def _check(self) -> None:
        if self.broken:
            raise ConnectionError("nats: connection closed")

    async def get(self, key: str) -> _Entry:
        self._check()
        if key not in self.entries:
            raise KeyNotFoundError
        return self.entries[key]

    async def create(self, key: str, value: bytes) -> int:
        self._check()
        if key in self.entries:
            raise KeyWrongLastSequenceError
        return self._put(key, value)

    async def update(self, key: str, value: bytes, last: int) -> int:
        self._check()
        if key not in self.entries or self.entries[key].revision != last:
            raise KeyWrongLastSequenceError
        return self._put(key, value)

    def _put(self, key: str, value: bytes) -> int:
        self.revision += 1
        self.writes += 1
        self.entries[key] = _Entry(value, self.revision)
        return self.revision

    def state(self, key: str = "jira.dc1") -> BudgetState:
        """The shared budget of ``key``."""
        return msgspec.json.decode(self.entries[key].value, type=BudgetState)
