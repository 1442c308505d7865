"""The parts of Jira's REST v2 answers the writer reads (msgspec ignores everything else)."""

from __future__ import annotations

import msgspec

__all__ = [
    "CreatedIssue",
    "IssueFields",
    "IssueSnapshot",
    "SearchResults",
    "StatusRef",
    "Transition",
    "TransitionField",
    "TransitionList",
]


class StatusRef(msgspec.Struct, frozen=True):
    name: str
    id: str | None = None


class IssueFields(msgspec.Struct, frozen=True):
    status: StatusRef | None = None
    labels: tuple[str, ...] = ()


class IssueSnapshot(msgspec.Struct, frozen=True):
    """An issue as ``GET /issue/{id}`` or ``/search`` return it (only the fields we ask for)."""

    id: str
    key: str
    fields: IssueFields = IssueFields()

    @property
    def status(self) -> str:
        return self.fields.status.name if self.fields.status else ""


class SearchResults(msgspec.Struct, frozen=True):
    total: int = 0
    issues: tuple[IssueSnapshot, ...] = ()


class CreatedIssue(msgspec.Struct, frozen=True):
    """``201 {id, key, self}`` of ``POST /issue``."""

    id: str
    key: str


class TransitionField(msgspec.Struct, frozen=True):
    """A field on a transition's screen (``expand=transitions.fields``)."""

    required: bool = False
    name: str | None = None


class Transition(msgspec.Struct, frozen=True):
    id: str
    name: str
    to: StatusRef
    fields: dict[str, TransitionField] = {}


class TransitionList(msgspec.Struct, frozen=True):
    transitions: tuple[Transition, ...] = ()
