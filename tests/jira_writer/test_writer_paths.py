"""JiraWriter's decision paths with an in-memory Jira (no delivery semantics involved)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from pdjira_common.bus import Retryable, WaitForPrerequisite
from pdjira_common.contracts import (
    CommandFailed,
    IncidentRef,
    IssueRef,
    Link,
    TransitionIssue,
    UpdateIncident,
)
from pdjira_common.mapping_client import MappingUnavailable
from pdjira_jira_writer.models import (
    Comment,
    CreatedIssue,
    FieldMeta,
    IssueFields,
    IssueHistory,
    IssueSnapshot,
    KindFields,
    Named,
    SearchResults,
    StatusRef,
    Transition,
    User,
)
from pdjira_jira_writer.writer import JiraWriter
from support.writer_standins import AgreeingMapping, MemoryLastWrites

INCIDENT = IncidentRef(account="acme", incident_id="PABC123")


class FakeJira:
    instance = "dc1"

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def create_issue(
        self, fields: Mapping[str, Any], properties: Sequence[Mapping[str, Any]]
    ) -> CreatedIssue:
        self.calls.append("create")
        return CreatedIssue(id="1", key="OPS-1")

    async def get_issue(self, id_or_key: str) -> IssueSnapshot:
        self.calls.append(f"get {id_or_key}")
        return IssueSnapshot(id="1", key="OPS-1", fields=IssueFields(status=StatusRef("To Do")))

    async def get_issue_history(self, id_or_key: str) -> IssueHistory:
        self.calls.append(f"get {id_or_key}")
        return IssueHistory(id="1", key="OPS-1", fields=KindFields(status=StatusRef("To Do")))

    async def myself(self) -> str:
        return "pdjira"

    async def search(self, jql: str, *, max_results: int = 10) -> SearchResults:
        self.calls.append("search")
        return SearchResults()

    async def get_transitions(self, id_or_key: str) -> tuple[Transition, ...]:
        self.calls.append("transitions")
        return ()

    async def transition(
        self, id_or_key: str, transition_id: str, fields: Mapping[str, Any]
    ) -> None:
        self.calls.append("transition")

    async def add_comment(self, id_or_key: str, body: str) -> Comment:
        self.calls.append("comment")
        return Comment(id="1")

    async def statuses(self) -> tuple[Named, ...]:
        return ()

    async def priorities(self) -> tuple[Named, ...]:
        return ()

    async def create_meta(self, project: str, issue_type: str) -> tuple[FieldMeta, ...]:
        return ()

    async def users(self, query: str) -> tuple[User, ...]:
        return ()

    async def aclose(self) -> None:
        pass


def link_on(instance: str) -> Link:
    return Link(
        incident=INCIDENT,
        issue=IssueRef(instance=instance, issue_id="1", key="OPS-1"),
        created_at="2026-01-01T00:00:00+00:00",
    )


def move(instance: str = "dc1") -> TransitionIssue:
    return TransitionIssue(
        command_id="c1",
        correlation_id="e1",
        incident=INCIDENT,
        instance=instance,
        target_status="Done",
    )


def writer(jira: FakeJira, link: Link | Exception | None) -> JiraWriter:
    async def find_link(incident: IncidentRef) -> Link | None:
        if isinstance(link, Exception):
            raise link
        return link

    return JiraWriter(
        clients={"dc1": jira},  # type: ignore[dict-item]
        find_link=find_link,
        mapping=AgreeingMapping(),
        last_writes=MemoryLastWrites(),
    )


async def test_no_link_waits_for_the_create() -> None:
    jira = FakeJira()
    with pytest.raises(WaitForPrerequisite, match="no issue is linked to incident acme/PABC123"):
        await writer(jira, None).handle(move())
    assert jira.calls == []


async def test_mapping_down_is_retried_not_taken_as_no_link() -> None:
    jira = FakeJira()
    with pytest.raises(Retryable, match="link lookup failed: no mapping service is running"):
        await writer(jira, MappingUnavailable("no mapping service is running")).handle(move())
    assert jira.calls == []


async def test_link_on_another_instance_fails_permanently() -> None:
    jira = FakeJira()
    outcome = await writer(jira, link_on("dc2")).handle(move())
    assert isinstance(outcome, CommandFailed)
    assert "linked to OPS-1 on Jira instance 'dc2', not 'dc1'" in outcome.reason
    assert jira.calls == []


async def test_unknown_instance_fails_before_any_call() -> None:
    jira = FakeJira()
    outcome = await writer(jira, link_on("dc1")).handle(move("nope"))
    assert isinstance(outcome, CommandFailed)
    assert outcome.reason.startswith("unknown Jira instance 'nope' (configured: ['dc1'])")
    assert (outcome.command_id, outcome.correlation_id) == ("c1", "e1")


async def test_a_pagerduty_command_on_a_jira_subject_is_refused() -> None:
    command = UpdateIncident(
        command_id="c2", correlation_id="e2", incident=INCIDENT, status="resolved"
    )
    outcome = await writer(FakeJira(), None).handle(command)
    assert isinstance(outcome, CommandFailed)
    assert "UpdateIncident is not a Jira command" in outcome.reason


async def test_no_transition_offered_is_a_permanent_failure() -> None:
    jira = FakeJira()
    outcome = await writer(jira, link_on("dc1")).handle(move())
    assert isinstance(outcome, CommandFailed)
    assert "Transition Issues permission" in outcome.reason
    assert jira.calls == ["get 1", "transitions", "get 1"]  # read again: not moved meanwhile
