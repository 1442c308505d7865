"""UpdateIssueFields, ids in CreateIssue / TransitionIssue: the pure decisions, then JiraWriter
against the Jira simulator in strict OpenAPI contract mode (in-process over ASGI, no NATS), with
every HTTP request and echo mark recorded in order."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pdjira_common.bus import WaitForPrerequisite
from pdjira_common.config import parse_config
from pdjira_common.contracts import (
    CommandFailed,
    CreateIssue,
    FieldsUpdated,
    IncidentRef,
    IssueLinked,
    IssueTransitioned,
    Link,
    TransitionIssue,
    UpdateIssueFields,
    WriteSkipped,
)
from pdjira_common.requests import (
    EchoMark,
    JiraUser,
    PairLookup,
    PairReply,
    UserLookup,
    UserReply,
)
from pdjira_jira_writer.catalog import Catalogs, Choice, find_choice, unknown_reason
from pdjira_jira_writer.idempotency import create_fields
from pdjira_jira_writer.issue_fields import (
    appended_description,
    fields_to_read,
    plan_update,
    same_value,
    wanted_labels,
)
from pdjira_jira_writer.jira_client import HttpJiraClient
from pdjira_jira_writer.models import Named, Project
from pdjira_jira_writer.writer import JiraWriter, priority_wanted
from pdjira_simulators.jira import JiraSettings, create_app
from pdjira_writer.vendor_http import HttpOptions
from starlette.applications import Starlette
from support.writer_standins import MemoryLastWrites

from .conftest import INSTANCE, JIRA_PASSWORD, JIRA_USER

ACCOUNT = "acme"
JDOE = JiraUser(name="jdoe", key="JIRAUSER10100", display_name="John Doe")

# ---------------------------------------------------------------- pure: comparing values


@pytest.mark.parametrize(
    ("current", "wanted", "same"),
    [
        ("text", "text", True),
        ("text", "other", False),
        (None, "text", False),
        (5, 5.0, True),
        # Jira answers more than it is sent: the keys given must match.
        ({"self": "u", "value": "prod", "id": "10"}, {"value": "prod"}, True),
        ({"value": "prod"}, {"value": "staging"}, False),
        ("prod", {"value": "prod"}, False),
        ({"name": "jdoe", "key": "JIRAUSER10100"}, {"name": "jdoe"}, True),
        # lists: one to one, in any order
        ([{"value": "a", "id": "1"}, {"value": "b"}], [{"value": "b"}, {"value": "a"}], True),
        ([{"value": "a"}], [{"value": "a"}, {"value": "a"}], False),
        (["a", "b"], ["a", "c"], False),
        (None, [], False),
    ],
)
def test_same_value(current: Any, wanted: Any, same: bool) -> None:
    assert same_value(current, wanted) is same


@pytest.mark.parametrize(
    ("current", "text", "result"),
    [
        (None, "Root cause: disk", "Root cause: disk"),
        ("", "  Root cause: disk\n", "Root cause: disk"),
        (
            "Created from PagerDuty",
            "Root cause: disk",
            "Created from PagerDuty\n\nRoot cause: disk",
        ),
        ("Created\n\nRoot cause: disk", "Root cause: disk", None),  # redelivered: already there
        ("Created\r\n\r\nRoot cause:\r\ndisk  \n", "Root cause: disk", None),  # CRLF, spaces
        (
            "Root cause: disk\n\nmore later",
            "Root cause: disk",
            "Root cause: disk\n\nmore later\n\nRoot cause: disk",
        ),
        ("anything", "   ", None),
    ],
)
def test_description_is_appended_once(current: str | None, text: str, result: str | None) -> None:
    assert appended_description(current, text) == result
    if result is not None:  # what was written is not appended again
        assert appended_description(result, text) is None


def test_labels_keep_the_idempotency_label() -> None:
    keep = "pdjira-acme-Q1"
    assert wanted_labels(("sev1", "db"), keep) == ["sev1", "db", keep]
    assert wanted_labels((keep, "sev1"), keep) == [keep, "sev1"]
    assert wanted_labels((), keep) == [keep]


CURRENT: dict[str, Any] = {
    "priority": {"id": "3", "name": "Medium"},
    "assignee": {"name": "jdoe", "key": "JIRAUSER10100"},
    "labels": ["pdjira-acme-Q1", "sev1"],
    "description": "Created from PagerDuty",
    "customfield_10100": "disk",
}


@pytest.mark.parametrize(
    ("kwargs", "write"),
    [
        ({}, {}),
        ({"priority_id": "3"}, {}),
        ({"priority_id": "1"}, {"priority": {"id": "1"}}),
        ({"assignee_name": "JDOE"}, {}),  # user names compare case-insensitively
        ({"assignee_name": "admin"}, {"assignee": {"name": "admin"}}),
        ({"labels": ["sev1", "pdjira-acme-Q1"]}, {}),  # order does not matter
        ({"labels": ["pdjira-acme-Q1"]}, {"labels": ["pdjira-acme-Q1"]}),
        ({"append_description": "Created from PagerDuty"}, {}),
        (
            {"append_description": "Fixed."},
            {"description": "Created from PagerDuty\n\nFixed."},
        ),
        ({"raw": {"customfield_10100": "disk"}}, {}),
        ({"raw": {"customfield_10100": "cpu"}}, {"customfield_10100": "cpu"}),
        # an explicit value wins over a raw field of the same id
        ({"priority_id": "3", "raw": {"priority": {"id": "1"}}}, {}),
        (
            {"priority_id": "2", "labels": ["x"], "raw": {"customfield_10101": "u"}},
            {"priority": {"id": "2"}, "labels": ["x"], "customfield_10101": "u"},
        ),
    ],
)
def test_plan_writes_only_what_differs(kwargs: dict[str, Any], write: dict[str, Any]) -> None:
    plan = plan_update(CURRENT, **kwargs)
    assert plan.write == write
    assert plan.names == tuple(write)


def test_empty_issue_values_are_written() -> None:
    plan = plan_update({"assignee": None, "labels": []}, assignee_name="jdoe", labels=["a"])
    assert plan.write == {"assignee": {"name": "jdoe"}, "labels": ["a"]}


def test_only_the_fields_compared_are_read() -> None:
    assert fields_to_read(
        priority=True, assignee=False, labels=True, description=False, raw={"customfield_1": 1}
    ) == ["priority", "labels", "customfield_1"]
    assert (
        fields_to_read(priority=False, assignee=False, labels=False, description=False, raw={})
        == []
    )


@pytest.mark.parametrize(
    ("raw", "wanted"),
    [({"id": "2"}, "2"), ({"name": "High"}, "High"), ("Low", "Low"), (None, None), ({}, None)],
)
def test_priority_in_raw_fields(raw: Any, wanted: str | None) -> None:
    assert priority_wanted(raw) == wanted


# ---------------------------------------------------------------- pure: catalogs

PROJECTS = (Choice("10000", "Operations", "OPS"), Choice("10001", "Platform", "PLAT"))
TYPES = (Choice("10002", "Task"), Choice("10004", "Bug"))


@pytest.mark.parametrize(
    ("items", "wanted", "found"),
    [
        (PROJECTS, "10001", "10001"),  # id
        (PROJECTS, "ops", "10000"),  # key, any case
        (PROJECTS, "Platform", "10001"),  # name
        (PROJECTS, "NOPE", None),
        (TYPES, "bug", "10004"),
        (TYPES, " 10002 ", "10002"),
        (TYPES, "10003", None),
    ],
)
def test_find_by_id_then_name_or_key(
    items: Sequence[Choice], wanted: str, found: str | None
) -> None:
    choice = find_choice(items, wanted)
    assert (choice.id if choice else None) == found


def test_an_unknown_item_names_what_exists() -> None:
    reason = unknown_reason("projects", "NOPE", PROJECTS, "dc1")
    assert reason.startswith("Jira instance 'dc1' has no project 'NOPE' (by id or name or key)")
    assert "OPS 'Operations' (id 10000), PLAT 'Platform' (id 10001)" in reason
    many = tuple(Choice(str(i), f"Type {i}") for i in range(50))
    assert "and 10 more" in unknown_reason("issue_types", "x", many, "dc1")
    assert "lists no issue types" in unknown_reason("issue_types", "x", (), "dc1")


class CountingJira:
    instance = "dc1"

    def __init__(self) -> None:
        self.reads = 0
        self.items: tuple[Named, ...] = (Named(id="1", name="Highest"),)

    async def priorities(self) -> tuple[Named, ...]:
        self.reads += 1
        return self.items

    async def projects(self) -> tuple[Project, ...]:
        self.reads += 1
        return (Project(id="10000", key="OPS", name="Operations"),)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_catalogs_are_cached_and_read_again_on_a_miss_or_when_old() -> None:
    jira, clock = CountingJira(), Clock()
    catalogs = Catalogs(ttl=60, clock=clock)
    assert (await catalogs.find(jira, "priorities", "Highest")).id == "1"  # type: ignore[arg-type]
    assert (await catalogs.find(jira, "priorities", "1")).name == "Highest"  # type: ignore[arg-type]
    assert jira.reads == 1
    # created in Jira since: a miss reads again, once
    jira.items = (*jira.items, Named(id="6", name="Blocker"))
    assert (await catalogs.find(jira, "priorities", "blocker")).id == "6"  # type: ignore[arg-type]
    assert jira.reads == 2
    with pytest.raises(Exception, match=r"has no priority 'Nope'.*'Blocker' \(id 6\)"):
        await catalogs.find(jira, "priorities", "Nope")  # type: ignore[arg-type]
    assert jira.reads == 3
    clock.now = 61  # too old: read again even for a hit
    await catalogs.find(jira, "priorities", "Highest")  # type: ignore[arg-type]
    assert jira.reads == 4
    assert (await catalogs.find(jira, "projects", "ops")).key == "OPS"  # type: ignore[arg-type]
    assert jira.reads == 5


def test_create_fields_with_ids_assignee_and_extra_fields() -> None:
    incident = IncidentRef(account=ACCOUNT, incident_id="Q1")
    command = create_command(
        incident,
        project="10000",
        fields={"customfield_10102": "Checkout API", "labels": ["from-rule"], "summary": "x"},
    )
    fields = create_fields(
        command, project_id="10000", issue_type_id="10004", priority_id="1", assignee_name="jdoe"
    )
    assert fields == {
        "customfield_10102": "Checkout API",
        "project": {"id": "10000"},
        "issuetype": {"id": "10004"},
        "summary": "Disk full on db-1",  # ours wins
        "description": "Created from PagerDuty",
        "labels": ["pagerduty", "from-rule", "pdjira-acme-Q1"],
        "priority": {"id": "1"},
        "assignee": {"name": "jdoe"},
    }


# ---------------------------------------------------------------- against the simulator


def create_command(incident: IncidentRef, **overrides: Any) -> CreateIssue:
    values: dict[str, Any] = {
        "command_id": f"create-{uuid.uuid4().hex[:8]}",
        "correlation_id": f"evt-{uuid.uuid4().hex[:8]}",
        "incident": incident,
        "instance": INSTANCE,
        "project": "OPS",
        "issue_type": "Task",
        "summary": "Disk full on db-1",
        "description": "Created from PagerDuty",
        "labels": ("pagerduty",),
    }
    values.update(overrides)
    return CreateIssue(**values)


def update(incident: IncidentRef, **values: Any) -> UpdateIssueFields:
    return UpdateIssueFields(
        command_id=f"fields-{uuid.uuid4().hex[:8]}",
        correlation_id=f"evt-{uuid.uuid4().hex[:8]}",
        incident=incident,
        instance=INSTANCE,
        **values,
    )


@dataclass
class Trace:
    """Every HTTP request the writer sent (with its JSON body) and every mark, in order."""

    entries: list[tuple[str, str, str, Any]] = field(default_factory=list)

    def writes(self) -> list[tuple[str, str, Any]]:
        return [(m, p, b) for kind, m, p, b in self.entries if kind == "http" and m != "GET"]

    def marks(self) -> list[tuple[str, str]]:
        return [(m, p) for kind, m, p, _ in self.entries if kind == "mark"]

    def gets(self) -> list[str]:
        return [p for kind, m, p, _ in self.entries if kind == "http" and m == "GET"]

    def clear(self) -> None:
        self.entries.clear()


class Recording(httpx.AsyncBaseTransport):
    def __init__(self, app: Starlette, trace: Trace) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._trace = trace

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self._trace.entries.append(("http", request.method, request.url.path, body))
        return await self._inner.handle_async_request(request)


class Mapping:
    """Links and users as the test sets them; marks go to the trace."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.links: dict[IncidentRef, Link] = {}
        self.users: dict[str, UserReply] = {"PUSER01": UserReply(jira_user=JDOE, source="manual")}

    async def find_link(self, incident: IncidentRef) -> Link | None:
        return self.links.get(incident)

    async def mark(self, mark: EchoMark) -> None:
        assert mark.system == "jira"
        self.trace.entries.append(("mark", mark.field, mark.value, mark.entity))

    async def pair(self, lookup: PairLookup) -> PairReply:
        return PairReply(note_id=lookup.note_id)

    async def author(self, lookup: UserLookup) -> str | None:
        return None

    async def user(self, lookup: UserLookup) -> UserReply:
        assert lookup.instance == INSTANCE
        return self.users.get(
            lookup.pd_user_id or "", UserReply(reason="no link, no e-mail match, no fallback")
        )


@pytest.fixture(scope="module")
def jira_app() -> Starlette:
    # One simulator for the module (loading the OpenAPI document takes a moment); every test
    # works on its own issues. Strict: a request off the vendor's contract gets a 500.
    return create_app(
        JiraSettings(username=JIRA_USER, password=JIRA_PASSWORD, seed=7, contract_strict=True)
    )


@dataclass
class Rig:
    writer: JiraWriter
    mapping: Mapping
    trace: Trace
    app: Starlette

    def issue(self, key: str) -> Any:
        return self.app.state.sim.state.issue(key)

    async def linked(self, **create: Any) -> tuple[IncidentRef, IssueLinked]:
        incident = IncidentRef(account=ACCOUNT, incident_id="Q" + uuid.uuid4().hex[:13].upper())
        outcome = await self.writer.handle(create_command(incident, **create))
        assert isinstance(outcome, IssueLinked), outcome
        self.mapping.links[incident] = Link(
            incident=incident, issue=outcome.issue, created_at="2026-11-26T08:00:00+00:00"
        )
        self.trace.clear()
        return incident, outcome


@pytest.fixture
async def rig(jira_app: Starlette) -> AsyncIterator[Rig]:
    jira_app.state.sim.contract.clear()  # this test's requests only
    trace = Trace()
    config = parse_config(
        {
            "jira_instances": [
                {
                    "id": INSTANCE,
                    "base_url": "http://jira.test",
                    "auth": {"type": "basic", "username": JIRA_USER, "password": JIRA_PASSWORD},
                    "webhook_secret": "jira-hook-secret",
                }
            ]
        }
    )
    client = HttpJiraClient(
        config.jira_instances[0], HttpOptions(timeout=5.0, transport=Recording(jira_app, trace))
    )
    mapping = Mapping(trace)
    writer = JiraWriter(
        clients={INSTANCE: client},
        find_link=mapping.find_link,
        mapping=mapping,
        last_writes=MemoryLastWrites(),
    )
    try:
        yield Rig(writer, mapping, trace, jira_app)
    finally:
        await client.aclose()
        # Nothing the writer sent broke the vendor's contract (checked, strictly).
        assert jira_app.state.sim.contract.strict
        assert jira_app.state.sim.contract.violations() == []


async def test_create_resolves_ids_assigns_and_sets_extra_fields(rig: Rig) -> None:
    incident, outcome = await rig.linked(
        project="10000",
        issue_type="10004",
        priority="1",
        assignee_pd_user_id="PUSER01",
        fields={"customfield_10102": "Checkout API"},
    )
    issue = rig.issue(outcome.issue.key)
    assert outcome.created
    assert (issue.project_id, issue.issuetype_id, issue.priority_id) == ("10000", "10004", "1")
    assert issue.assignee_key == "JIRAUSER10100"
    assert issue.custom == {"customfield_10102": "Checkout API"}
    assert issue.labels == ["pagerduty", f"pdjira-{ACCOUNT}-{incident.incident_id}"]


async def test_create_lists_once_and_sends_ids(rig: Rig) -> None:
    await rig.linked(project="ops", issue_type="bug", priority="high")
    first = create_command(
        IncidentRef(account=ACCOUNT, incident_id="QX" + uuid.uuid4().hex[:8]),
        project="OPS",
        issue_type="Bug",
        priority="High",
    )
    assert isinstance(await rig.writer.handle(first), IssueLinked)
    # the second create used the cached lists
    assert rig.trace.gets() == []
    [(method, path, body)] = rig.trace.writes()[-1:]
    assert (method, path) == ("POST", "/rest/api/2/issue")
    fields = body["fields"]
    assert fields["project"] == {"id": "10000"}
    assert fields["issuetype"] == {"id": "10004"}
    assert fields["priority"] == {"id": "2"}
    assert "assignee" not in fields


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"project": "NOPE"},
            "has no project 'NOPE' (by id or name or key); it has OPS 'Operations' (id 10000)",
        ),
        ({"issue_type": "99"}, "has no issue type '99' (by id or name); it has 'Task' (id 10002)"),
        (
            {"priority": "Urgent"},
            "has no priority 'Urgent' (by id or name); it has 'Highest' (id 1)",
        ),
    ],
)
async def test_create_with_an_unknown_name_or_id_fails_naming_what_exists(
    rig: Rig, overrides: dict[str, str], expected: str
) -> None:
    command = create_command(IncidentRef(account=ACCOUNT, incident_id="QU" + uuid.uuid4().hex[:8]))
    outcome = await rig.writer.handle(create_command(command.incident, **overrides))
    assert isinstance(outcome, CommandFailed)
    assert outcome.permanent
    assert expected in outcome.reason
    assert f"Jira instance '{INSTANCE}'" in outcome.reason
    assert [p for _, p, _ in rig.trace.writes()] == []  # no create (and no search first)


async def test_unmapped_assignee_on_create_leaves_the_issue_unassigned(rig: Rig) -> None:
    _, outcome = await rig.linked(assignee_pd_user_id="PNOBODY")
    assert outcome.created
    assert rig.issue(outcome.issue.key).assignee_key is None


async def test_update_writes_what_differs_after_marking_the_priority_then_converges(
    rig: Rig,
) -> None:
    incident, linked = await rig.linked()
    issue_id = linked.issue.issue_id
    command = update(
        incident,
        priority="High",
        assignee_pd_user_id="PUSER01",
        labels=("sev1",),
        append_description="Root cause: disk",
        fields={"customfield_10100": "disk full"},
    )
    outcome = await rig.writer.handle(command)

    assert outcome == FieldsUpdated(
        command_id=command.command_id,
        correlation_id=command.correlation_id,
        target=f"jira:{INSTANCE}:{issue_id}",
        fields=("priority", "assignee", "labels", "description", "customfield_10100"),
    )
    label = f"pdjira-{ACCOUNT}-{incident.incident_id}"
    writes = [e for e in rig.trace.entries if e[0] == "mark" or e[1] != "GET"]
    # the mark (as Jira's changelog will name the priority) comes before the write
    assert writes == [
        ("mark", "priority", "High", f"jira:{INSTANCE}:{issue_id}"),
        (
            "http",
            "PUT",
            f"/rest/api/2/issue/{issue_id}",
            {
                "fields": {
                    "priority": {"id": "2"},
                    "assignee": {"name": "jdoe"},
                    "labels": ["sev1", label],
                    "description": "Created from PagerDuty\n\nRoot cause: disk",
                    "customfield_10100": "disk full",
                }
            },
        ),
    ]
    issue = rig.issue(linked.issue.key)
    assert issue.priority_id == "2"
    assert issue.assignee_key == "JIRAUSER10100"
    assert issue.labels == ["sev1", label]
    assert issue.description == "Created from PagerDuty\n\nRoot cause: disk"
    assert issue.custom["customfield_10100"] == "disk full"
    [change] = issue.changelog[-1:]
    assert [i.field for i in change.items if i.field == "priority"] == ["priority"]
    assert next(i.to_string for i in change.items if i.field == "priority") == "High"

    # Redelivered (or sent again): nothing differs, nothing written, nothing marked.
    rig.trace.clear()
    again = await rig.writer.handle(command)
    assert isinstance(again, WriteSkipped)
    assert again.reason.startswith(f"issue {linked.issue.key} already has the wanted priority")
    assert rig.trace.writes() == []
    assert rig.trace.marks() == []
    assert rig.issue(linked.issue.key).description == "Created from PagerDuty\n\nRoot cause: disk"


async def test_only_the_differing_field_is_sent(rig: Rig) -> None:
    incident, _ = await rig.linked(priority="High")
    outcome = await rig.writer.handle(update(incident, priority="2", labels=("x",)))
    assert isinstance(outcome, FieldsUpdated)
    assert outcome.fields == ("labels",)
    assert rig.trace.marks() == []  # the priority is not written, so not marked
    [(_, _, body)] = rig.trace.writes()
    assert list(body["fields"]) == ["labels"]


@pytest.mark.parametrize(
    ("values", "mark"),
    [
        ({"priority": "1"}, "Highest"),  # by id: marked by the name Jira reports
        ({"priority": "lowest"}, "Lowest"),  # by name, any case
        ({"fields": {"priority": {"name": "Low"}}}, "Low"),  # as a raw field
    ],
)
async def test_priority_mark_carries_jiras_name(
    rig: Rig, values: dict[str, Any], mark: str
) -> None:
    incident, linked = await rig.linked()
    outcome = await rig.writer.handle(update(incident, **values))
    assert isinstance(outcome, FieldsUpdated)
    assert outcome.fields == ("priority",)
    assert rig.trace.marks() == [("priority", mark)]
    priority = rig.app.state.sim.state.catalog.priorities.get(
        rig.issue(linked.issue.key).priority_id
    )
    assert priority.name == mark


async def test_unknown_priority_fails_naming_the_priorities_and_writes_nothing(rig: Rig) -> None:
    incident, _ = await rig.linked()
    outcome = await rig.writer.handle(update(incident, priority="P1", labels=("a",)))
    assert isinstance(outcome, CommandFailed)
    assert outcome.permanent
    assert f"Jira instance '{INSTANCE}' has no priority 'P1' (by id or name)" in outcome.reason
    assert "'Highest' (id 1), 'High' (id 2), 'Medium' (id 3)" in outcome.reason
    assert rig.trace.writes() == []
    assert rig.trace.marks() == []


async def test_unmapped_assignee_is_left_alone_and_said(rig: Rig) -> None:
    incident, linked = await rig.linked()
    alone = await rig.writer.handle(update(incident, assignee_pd_user_id="PNOBODY"))
    assert isinstance(alone, WriteSkipped)
    assert "assignee left alone: PagerDuty user PNOBODY has no Jira user" in alone.reason
    assert "(no link, no e-mail match, no fallback)" in alone.reason
    with_others = await rig.writer.handle(
        update(incident, assignee_pd_user_id="PNOBODY", labels=("a",))
    )
    assert isinstance(with_others, FieldsUpdated)
    assert with_others.fields == ("labels",)
    [left_alone] = with_others.left_alone  # the outcome says what was not written, and why
    assert "assignee left alone: PagerDuty user PNOBODY has no Jira user" in left_alone
    assert rig.issue(linked.issue.key).assignee_key is None


async def test_fallback_user_is_assigned(rig: Rig) -> None:
    incident, linked = await rig.linked()
    admin = JiraUser(name="admin", key="JIRAUSER10000")
    rig.mapping.users["PNEW"] = UserReply(jira_user=admin, source="fallback")
    outcome = await rig.writer.handle(update(incident, assignee_pd_user_id="PNEW"))
    assert isinstance(outcome, FieldsUpdated)
    assert rig.issue(linked.issue.key).assignee_key == "JIRAUSER10000"


async def test_user_lookup_error_is_retried_not_taken_as_unmapped(rig: Rig) -> None:
    incident, _ = await rig.linked()
    rig.mapping.users["PDOWN"] = UserReply(error="jira-writer did not answer")
    with pytest.raises(WaitForPrerequisite, match="user lookup failed: jira-writer did not answer"):
        await rig.writer.handle(update(incident, assignee_pd_user_id="PDOWN"))
    assert rig.trace.writes() == []


async def test_update_waits_for_the_link(rig: Rig) -> None:
    incident = IncidentRef(account=ACCOUNT, incident_id="QNOTYET")
    with pytest.raises(WaitForPrerequisite, match="no issue is linked to incident acme/QNOTYET"):
        await rig.writer.handle(update(incident, priority="High"))
    assert rig.trace.entries == []


async def test_status_as_a_field_is_refused(rig: Rig) -> None:
    incident, _ = await rig.linked()
    outcome = await rig.writer.handle(update(incident, fields={"status": {"name": "Done"}}))
    assert isinstance(outcome, CommandFailed)
    assert "send it as a TransitionIssue" in outcome.reason
    assert rig.trace.entries == []


async def test_nothing_to_set_is_skipped_without_a_read(rig: Rig) -> None:
    incident, linked = await rig.linked()
    outcome = await rig.writer.handle(update(incident))
    assert isinstance(outcome, WriteSkipped)
    assert outcome.reason == f"nothing to set on {linked.issue.key}"
    assert rig.trace.entries == []


async def test_jira_refusal_of_a_field_is_a_permanent_failure(rig: Rig) -> None:
    incident, _ = await rig.linked()
    outcome = await rig.writer.handle(update(incident, fields={"customfield_99999": "x"}))
    assert isinstance(outcome, CommandFailed)
    assert outcome.status_code == 400
    assert "customfield_99999" in outcome.reason


def move(incident: IncidentRef, target: str) -> TransitionIssue:
    return TransitionIssue(
        command_id=f"move-{uuid.uuid4().hex[:8]}",
        correlation_id=f"evt-{uuid.uuid4().hex[:8]}",
        incident=incident,
        instance=INSTANCE,
        target_status=target,
    )


async def test_transition_to_a_status_id(rig: Rig) -> None:
    incident, _ = await rig.linked()
    outcome = await rig.writer.handle(move(incident, "3"))  # PagerDuty rule: {"id": "3"}
    assert isinstance(outcome, IssueTransitioned)
    assert (outcome.from_status, outcome.to_status) == ("To Do", "In Progress")
    assert rig.trace.marks() == [("status", "In Progress")]
    again = await rig.writer.handle(move(incident, "3"))
    assert isinstance(again, WriteSkipped)
    assert "already in status 'In Progress'" in again.reason


async def test_unknown_status_id_fails_naming_the_statuses(rig: Rig) -> None:
    incident, _ = await rig.linked()
    outcome = await rig.writer.handle(move(incident, "999"))
    assert isinstance(outcome, CommandFailed)
    assert f"Jira instance '{INSTANCE}' has no status '999'" in outcome.reason
    assert "'To Do' (id 10000), 'In Progress' (id 3)" in outcome.reason
    assert rig.trace.writes() == []
