"""The jira-writer's status writes: the last human change wins, Done stays Done unless the rule
reopens on a newer cause, whole paths planned on the workflow seen so far, a dead end walked
back, a concurrent move retried. The pure pieces first, then JiraWriter on an in-memory Jira
whose workflow the test draws."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pdjira_common.contracts import (
    CommandFailed,
    IncidentRef,
    IssueRef,
    IssueTransitioned,
    Link,
    TransitionIssue,
    WriteSkipped,
)
from pdjira_common.retry import Retryable
from pdjira_jira_writer.errors import JiraError
from pdjira_jira_writer.models import (
    Author,
    Changelog,
    History,
    HistoryItem,
    IssueFields,
    IssueHistory,
    IssueSnapshot,
    KindFields,
    Named,
    StatusCategory,
    StatusRef,
    Transition,
)
from pdjira_jira_writer.status_guard import StatusChange, latest_status_change, transition_guard
from pdjira_jira_writer.workflows import Workflows
from pdjira_jira_writer.writer import JiraWriter
from support.writer_standins import AgreeingMapping, MemoryLastWrites

INCIDENT = IncidentRef(account="acme", incident_id="PABC123")
BEFORE, AT, AFTER = (
    "2026-12-01T09:00:05+00:00",
    "2026-12-01T09:00:10.000+0000",
    "2026-12-01T09:00:15+00:00",
)


def history(created: str, login: str, to: str, field: str = "status") -> History:
    return History(
        created=created,
        author=Author(name=login, displayName=login.title()),
        items=(HistoryItem(field=field, toString=to),),
    )


# ---------------------------------------------------------------- pure pieces


def test_the_latest_status_change_is_the_newest_group_with_a_status_item() -> None:
    histories = (
        history("2026-12-01T09:00:01.000+0000", "bob", "In Progress"),
        history(AT, "alice", "Done"),
        history("2026-12-01T09:00:20.000+0000", "carol", "High", field="priority"),
    )
    assert latest_status_change(histories) == StatusChange(
        status="Done", at=AT, login="alice", who="Alice"
    )
    assert latest_status_change(()) is None


def guard(
    *,
    in_done: bool = False,
    target_done: bool = False,
    reopen: bool = False,
    cause: str | None,
    by: str = "alice",
) -> str | None:
    return transition_guard(
        issue_key="OPS-1",
        status="Done" if in_done else "In Progress",
        in_done=in_done,
        target_done=target_done,
        reopen=reopen,
        caused_at=cause,
        change=StatusChange(status="In Progress", at=AT, login=by, who=by.title()),
        our_login="pdjira",
    )


def test_an_older_cause_loses_to_a_person_s_change_not_to_ours() -> None:
    assert guard(cause=BEFORE) == (f"older than Alice's change to 'In Progress' at {AT} ({BEFORE})")
    assert guard(cause=BEFORE, by="PDJira") is None  # ours: the write order decides
    assert guard(cause=AFTER) is None
    assert guard(cause=None) is None  # an older publisher: no time to compare


def test_a_cause_known_only_to_the_second_of_a_person_s_change_is_not_older() -> None:
    # PagerDuty's REST time (a resolve recovered by reconciliation) vs Jira's milliseconds:
    # within that second the order is unknowable; the change we were asked to carry applies.
    def at_half_past(cause: str) -> str | None:
        change = StatusChange(
            status="In Progress", at="2026-12-01T09:00:10.500+0000", login="alice", who="Alice"
        )
        return transition_guard(
            issue_key="OPS-1",
            status="In Progress",
            in_done=False,
            target_done=True,
            reopen=False,
            caused_at=cause,
            change=change,
            our_login="pdjira",
        )

    assert at_half_past("2026-12-01T09:00:10Z") is None
    assert at_half_past("2026-12-01T09:00:10.200Z") is not None  # known to be older
    assert at_half_past("2026-12-01T09:00:09Z") is not None


def test_done_stays_done_unless_the_rule_reopens_on_a_newer_cause() -> None:
    stays = guard(in_done=True, cause=AFTER)
    assert stays is not None
    assert "is in 'Done', a Done status, and stays there" in stays
    too_old = guard(in_done=True, reopen=True, cause=BEFORE, by="pdjira")
    assert too_old is not None
    assert f"the reopen's cause ({BEFORE}) is not newer than its last status change" in too_old
    assert guard(in_done=True, reopen=True, cause=AFTER) is None
    assert guard(in_done=True, target_done=True, cause=AFTER) is None  # Done to another Done


def test_workflows_forget_what_is_old() -> None:
    now = [0.0]
    workflows = Workflows(ttl=60, clock=lambda: now[0])
    start = (Transition(id="11", name="Start", to=StatusRef("In Progress")),)
    workflows.learn(("dc1", "10000", "10001"), "To Do", start)
    assert workflows.known(("dc1", "10000", "10001")) == {"to do": start}
    assert workflows.known(("dc1", "10000", "10002")) == {}  # another issue type
    now[0] = 61.0
    assert workflows.known(("dc1", "10000", "10001")) == {}


# ---------------------------------------------------------------- JiraWriter, drawn workflows

CATEGORY = {"To Do": "new", "In Progress": "indeterminate", "Done": "done", "Closed": "done"}


def status(name: str) -> StatusRef:
    return StatusRef(name, statusCategory=StatusCategory(CATEGORY.get(name, "indeterminate")))


class DrawnJira:
    """One issue (OPS-1) on a workflow given as {status: {transition id: to status}}."""

    instance = "dc1"

    def __init__(self, workflow: Mapping[str, Mapping[str, str]], at: str = "To Do") -> None:
        self.workflow = workflow
        self.status = at
        self.histories: list[History] = []
        self.calls: list[str] = []
        self.moved_by_someone: str | None = None  # moves the issue before our next transition

    async def get_issue_history(self, id_or_key: str) -> IssueHistory:
        self.calls.append("get")
        return IssueHistory(
            id="1",
            key="OPS-1",
            fields=KindFields(
                status=status(self.status),
                project=Named(id="10000", name="OPS"),
                issuetype=Named(id="10001", name="Task"),
            ),
            changelog=Changelog(histories=tuple(self.histories)),
        )

    async def get_issue(self, id_or_key: str) -> IssueSnapshot:
        self.calls.append("get")
        return IssueSnapshot(id="1", key="OPS-1", fields=IssueFields(status=status(self.status)))

    async def get_transitions(self, id_or_key: str) -> tuple[Transition, ...]:
        self.calls.append(f"transitions from {self.status}")
        return tuple(
            Transition(id=tid, name=f"to {to}", to=status(to))
            for tid, to in self.workflow.get(self.status, {}).items()
        )

    async def transition(
        self, id_or_key: str, transition_id: str, fields: Mapping[str, Any]
    ) -> None:
        if self.moved_by_someone is not None:
            self.status, self.moved_by_someone = self.moved_by_someone, None
        to = self.workflow.get(self.status, {}).get(transition_id)
        if to is None:
            raise JiraError(
                f"Jira refused transition (400): Transition id '{transition_id}' is not valid",
                status_code=400,
            )
        self.calls.append(f"move to {to}")
        self.status = to

    async def myself(self) -> str:
        return "pdjira"

    async def statuses(self) -> tuple[Named, ...]:
        return tuple(
            Named(id=str(i), name=n, statusCategory=StatusCategory(c))
            for i, (n, c) in enumerate(CATEGORY.items())
        )


SIMPLE = {
    "To Do": {"11": "In Progress", "21": "Done"},
    "In Progress": {"31": "Done", "51": "To Do"},
    "Done": {"41": "To Do"},
}


def writer() -> JiraWriter:
    async def find_link(incident: IncidentRef) -> Link:
        return Link(
            incident=incident,
            issue=IssueRef(instance="dc1", issue_id="1", key="OPS-1"),
            created_at="2026-12-01T08:00:00+00:00",
        )

    return JiraWriter(
        clients={"dc1": DrawnJira(SIMPLE)},  # replaced per test
        find_link=find_link,
        mapping=AgreeingMapping(),
        last_writes=MemoryLastWrites(),
    )


def on(jira: DrawnJira, base: JiraWriter | None = None) -> JiraWriter:
    made = base or writer()
    return JiraWriter(
        clients={"dc1": jira},  # type: ignore[dict-item]
        find_link=made.find_link,
        mapping=made.mapping,
        last_writes=made.last_writes,
        workflows=made.workflows,
    )


def move(target: str, *, cause: str | None = AFTER, reopen: bool = False) -> TransitionIssue:
    return TransitionIssue(
        command_id=f"c-{target}-{cause}",
        correlation_id="e1",
        incident=INCIDENT,
        instance="dc1",
        target_status=target,
        caused_at=cause,
        reopen=reopen,
    )


async def test_a_stale_move_does_not_undo_a_person_s_newer_change() -> None:
    jira = DrawnJira(SIMPLE, at="In Progress")
    jira.histories.append(history(AT, "alice", "In Progress"))

    outcome = await on(jira).handle(move("To Do", cause=BEFORE))

    assert isinstance(outcome, WriteSkipped)
    assert outcome.reason == (
        f"not moving OPS-1 to 'To Do': older than Alice's change to 'In Progress' at {AT} "
        f"({BEFORE})"
    )
    assert jira.status == "In Progress"


async def test_done_is_left_unless_the_rule_reopens_on_a_newer_cause() -> None:
    jira = DrawnJira(SIMPLE, at="Done")
    jira.histories.append(history(AT, "alice", "Done"))
    base = writer()

    kept = await on(jira, base).handle(move("In Progress"))
    reopened = await on(jira, base).handle(move("In Progress", reopen=True))

    assert isinstance(kept, WriteSkipped)
    assert "a Done status, and stays there" in kept.reason
    assert isinstance(reopened, IssueTransitioned)
    assert reopened.path == ("To Do", "In Progress")
    assert jira.status == "In Progress"


async def test_a_known_workflow_is_planned_whole_without_reading_each_status() -> None:
    base = writer()
    first = DrawnJira(SIMPLE, at="Done")
    assert isinstance(
        await on(first, base).handle(move("In Progress", reopen=True)), IssueTransitioned
    )
    assert first.calls == [
        "get",
        "transitions from Done",
        "move to To Do",
        "transitions from To Do",
        "move to In Progress",
    ]

    second = DrawnJira(SIMPLE, at="Done")  # another issue of the same project and type
    assert isinstance(
        await on(second, base).handle(move("In Progress", reopen=True)), IssueTransitioned
    )
    assert second.calls == ["get", "transitions from Done", "move to To Do", "move to In Progress"]


async def test_a_dead_end_found_on_the_way_walks_the_issue_back_then_fails() -> None:
    # From To Do only "Triage" leads on, and Triage only back: "Fixed" is out of reach.
    dead_end = {"To Do": {"11": "Triage"}, "Triage": {"12": "To Do"}, "Fixed": {}}
    jira = DrawnJira(dead_end)

    outcome = await on(jira).handle(move("Fixed"))

    assert isinstance(outcome, CommandFailed)
    assert "no path of transitions leads to 'Fixed'" in outcome.reason
    assert outcome.reason.endswith("(tried Triage, then moved it back to 'To Do')")
    assert jira.status == "To Do"
    assert jira.calls[-1] == "move to To Do"


async def test_no_path_from_the_start_fails_without_moving() -> None:
    jira = DrawnJira({"To Do": {}})
    outcome = await on(jira).handle(move("Fixed"))
    assert isinstance(outcome, CommandFailed)
    assert "Transition Issues permission" in outcome.reason
    # Read again before giving up: the issue is still where it was (no one moved it meanwhile).
    assert jira.calls == ["get", "transitions from To Do", "get"]


async def test_transitions_read_after_someone_moved_the_issue_are_not_a_dead_end() -> None:
    jira = DrawnJira(SIMPLE)
    real_read = jira.get_transitions

    async def read_after_a_person_resolved(id_or_key: str) -> tuple[Transition, ...]:
        jira.status = "Done"  # between our read of the issue and Jira's list of transitions
        return await real_read(id_or_key)

    jira.get_transitions = read_after_a_person_resolved  # type: ignore[method-assign]
    base = writer()
    with pytest.raises(Retryable, match="moved from 'To Do' to 'Done' while we planned"):
        await on(jira, base).handle(move("In Progress"))
    assert "to do" not in base.workflows.known(("dc1", "10000", "10001"))


async def test_a_move_refused_because_someone_moved_the_issue_is_retried() -> None:
    jira = DrawnJira(SIMPLE)
    jira.moved_by_someone = "Done"  # a person resolves it between our read and our write

    with pytest.raises(Retryable, match="moved from 'To Do' to 'Done' while we transitioned it"):
        await on(jira).handle(move("In Progress"))


async def test_an_old_picture_of_the_workflow_is_read_again_and_replanned() -> None:
    base = writer()
    assert isinstance(
        await on(DrawnJira(SIMPLE, at="Done"), base).handle(move("In Progress", reopen=True)),
        IssueTransitioned,
    )
    # The admin changed the workflow: To Do -> In Progress is now transition 12.
    changed = {**SIMPLE, "To Do": {"12": "In Progress", "21": "Done"}}
    jira = DrawnJira(changed, at="Done")

    outcome = await on(jira, base).handle(move("In Progress", reopen=True))

    assert isinstance(outcome, IssueTransitioned)
    assert jira.status == "In Progress"
    assert "transitions from To Do" in jira.calls  # read again after Jira's 400
