"""In-memory stand-ins for a writer's dependencies, for tests that drive a writer directly:
the write-order record and a mapping that agrees to everything and knows nobody."""

from __future__ import annotations

from pdjira_common.contracts import Link
from pdjira_common.requests import EchoMark, PairLookup, PairReply, UserLookup, UserReply
from pdjira_writer.write_order import LastWrite

__all__ = ["AgreeingMapping", "MemoryLastWrites"]


class MemoryLastWrites:
    """The write-order record in a dict (the service keeps it in KV)."""

    def __init__(self) -> None:
        self.records: dict[str, LastWrite] = {}

    async def get(self, key: str) -> LastWrite | None:
        return self.records.get(key)

    async def put(self, key: str, value: LastWrite) -> None:
        self.records[key] = value


class AgreeingMapping:
    """Mapping's answers to either writer: every mark recorded, no pairs, no users, no links."""

    def __init__(self) -> None:
        self.marks: list[EchoMark] = []

    async def mark(self, mark: EchoMark) -> None:
        self.marks.append(mark)

    async def pair(self, lookup: PairLookup) -> PairReply:
        return PairReply(note_id=lookup.note_id, comment_id=lookup.comment_id)

    async def author(self, lookup: UserLookup) -> str | None:
        return None

    async def user(self, lookup: UserLookup) -> UserReply:
        return UserReply(reason="no mapping in this test")

    async def link_of_issue(self, instance: str, issue_id: str) -> Link | None:
        return None
