"""The parts of Jira's REST v2 answers the writer reads (msgspec ignores everything else)."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "Author",
    "ChangeHistory",
    "ChangeHistoryItem",
    "ChangedIssue",
    "ChangedIssueLog",
    "ChangedIssuePage",
    "Changelog",
    "Comment",
    "CommentPage",
    "CreatedIssue",
    "FieldMeta",
    "FieldMetaPage",
    "History",
    "HistoryItem",
    "IssueFields",
    "IssueHistory",
    "IssueSnapshot",
    "IssueValues",
    "KindFields",
    "Named",
    "Project",
    "SearchResults",
    "StatusCategory",
    "StatusRef",
    "Transition",
    "TransitionField",
    "TransitionList",
    "User",
]


class StatusCategory(msgspec.Struct, frozen=True):
    key: str = ""


class StatusRef(msgspec.Struct, frozen=True):
    name: str
    id: str | None = None
    statusCategory: StatusCategory | None = None

    @property
    def category(self) -> str:
        """``new``, ``indeterminate`` or ``done`` (empty when Jira did not say)."""
        return self.statusCategory.key if self.statusCategory else ""


class FieldSchema(msgspec.Struct, frozen=True):
    """A field's ``schema`` in ``GET /field``; ``custom``: a custom field's type key."""

    type: str | None = None
    custom: str | None = None


class Named(msgspec.Struct, frozen=True):
    """A status, priority, issue type, resolution or field of ``GET /status``, ``/priority``,
    ``/issuetype``, ``/resolution`` and ``/field``."""

    id: str
    name: str
    statusCategory: StatusCategory | None = None
    schema: FieldSchema | None = None  # fields only


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


class Author(msgspec.Struct, frozen=True):
    """Who made a change (a changelog ``author``); ``name`` is the login."""

    name: str = ""
    displayName: str | None = None


class HistoryItem(msgspec.Struct, frozen=True):
    field: str = ""
    fromString: str | None = None
    toString: str | None = None


class History(msgspec.Struct, frozen=True):
    """One change group of the issue's changelog: who, when, which fields."""

    id: str = ""
    author: Author | None = None
    created: str = ""
    items: tuple[HistoryItem, ...] = ()


class Changelog(msgspec.Struct, frozen=True):
    histories: tuple[History, ...] = ()


class KindFields(msgspec.Struct, frozen=True):
    status: StatusRef | None = None
    project: Named | None = None
    issuetype: Named | None = None


class IssueHistory(msgspec.Struct, frozen=True):
    """An issue with its status, project, issue type and changelog (``expand=changelog``): what
    a status write is decided against (whose change was last, and when)."""

    id: str
    key: str
    fields: KindFields = KindFields()
    changelog: Changelog = Changelog()

    @property
    def status(self) -> str:
        return self.fields.status.name if self.fields.status else ""

    @property
    def category(self) -> str:
        return self.fields.status.category if self.fields.status else ""


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


class Comment(msgspec.Struct, frozen=True):
    id: str
    body: str = ""


class CommentPage(msgspec.Struct, frozen=True):
    """``GET /issue/{id}/comment``: one page of the issue's comments."""

    comments: tuple[Comment, ...] = ()
    total: int = 0


class Project(msgspec.Struct, frozen=True):
    """A project of ``GET /project``."""

    id: str
    key: str
    name: str = ""


class IssueValues(msgspec.Struct, frozen=True):
    """An issue with the raw values of the fields asked for (``GET /issue/{id}?fields=``):
    what ``UpdateIssueFields`` compares against before writing."""

    id: str
    key: str
    fields: dict[str, Any] = {}


class FieldMeta(msgspec.Struct, frozen=True):
    fieldId: str
    name: str = ""
    required: bool = False


class FieldMetaPage(msgspec.Struct, frozen=True):
    values: tuple[FieldMeta, ...] = ()


class User(msgspec.Struct, frozen=True):
    name: str
    key: str
    emailAddress: str | None = None
    displayName: str | None = None
    timeZone: str | None = None  # the profile's zone, e.g. "Europe/Berlin" (GET /myself)


# ---------------------------------------------------------------- reconciliation reads


class ChangeHistoryItem(msgspec.Struct, frozen=True):
    """A changelog item: ``from``/``to`` ids or keys, ``fromString``/``toString`` names."""

    field: str
    from_: str | int | None = msgspec.field(name="from", default=None)
    fromString: str | None = None
    to: str | int | None = None
    toString: str | None = None


class ChangeHistory(msgspec.Struct, frozen=True):
    """One change group of ``expand=changelog``; ``author`` as Jira sends a user."""

    id: str
    created: str
    author: dict[str, Any] | None = None
    items: tuple[ChangeHistoryItem, ...] = ()


class ChangedIssueLog(msgspec.Struct, frozen=True):
    histories: tuple[ChangeHistory, ...] = ()


class ChangedIssue(msgspec.Struct, frozen=True):
    """A search hit with every field (raw: the poller reads them as a webhook's) and its
    changelog."""

    id: str
    key: str
    fields: dict[str, Any] = {}
    changelog: ChangedIssueLog | None = None


class ChangedIssuePage(msgspec.Struct, frozen=True):
    startAt: int = 0
    total: int = 0
    issues: tuple[ChangedIssue, ...] = ()
