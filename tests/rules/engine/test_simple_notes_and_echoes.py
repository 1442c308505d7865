"""Notes <-> comments and echo suppression for the simple rule set, decided by the one engine
(pure, table-driven)."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
import pytest
from pdjira_common.config import SyncRule
from pdjira_common.contracts import AddComment, AddNote, Command, Event, IncidentRef, IssueRef, Link
from pdjira_common.facts import JiraComment, PdAgent, PdNote
from pdjira_common.requests import EchoConsume, PairLookup, body_digest
from pdjira_rules.audit import audit_record
from pdjira_rules.echoes import echo_probes, pair_probe
from pdjira_rules.engine import needs_link
from pdjira_rules.routing import command_subject

from ..builders import compiled, incident_event, issue_event, issue_fields, link, status_change
from .test_simple_rules import check_verdicts, decide, rule

INCIDENT = IncidentRef(account="acme", incident_id="PGR0VU2")
ISSUE = IssueRef(instance="dc1", issue_id="10100", key="OPS-4")


def note(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "data": None,
        "note": PdNote(id="PNOTE1", content="Restarted the pods"),
        "agent": PdAgent(id="PUSER01", type="user_reference"),
    }
    return incident_event("incident.annotated", **{**fields, **overrides})  # type: ignore[arg-type]


def comment(*changes: object, **overrides: object) -> Event:
    fields: dict[str, object] = {
        "issue_event_type": "issue_commented",
        "comment": JiraComment(id="10082", body="Looking into it"),
    }
    return issue_event(*changes, **{**fields, **overrides})  # type: ignore[arg-type]


ADD_COMMENT = AddComment(
    command_id="note:acme:PNOTE1",
    correlation_id="ev-1",
    incident=INCIDENT,
    instance="dc1",
    note_id="PNOTE1",
    body="Restarted the pods",
    author_pd_user_id="PUSER01",
)
ADD_NOTE = AddNote(
    command_id="comment:dc1:10082",
    correlation_id="jira:dc1:abc",
    incident=INCIDENT,
    issue=ISSUE,
    comment_id="10082",
    body="Looking into it",
    author_jira_user_key="JIRAUSER10100",
    author_jira_user_name="alice",
)


@dataclass(frozen=True)
class Case:
    event: Event
    rules: tuple[SyncRule, ...]
    link: Link | None
    verdicts: tuple[tuple[str, bool, str], ...]
    commands: tuple[Command, ...] = ()
    echoes: frozenset[str] = field(default_factory=frozenset)
    synced_as: str | None = None


CASES = {
    # ------------------------------------------------------------------ PagerDuty notes
    "note-linked-becomes-comment": Case(
        note(), (rule(),), link(), (("ops", True, "note PNOTE1 -> comment on OPS-4"),),
        (ADD_COMMENT,),
    ),
    "note-by-integration-has-no-author": Case(
        note(agent=PdAgent(id="PSVC9", type="service_reference")), (rule(),), link(),
        (("ops", True, "note"),),
        (msgspec.structs.replace(ADD_COMMENT, author_pd_user_id=None),),
    ),
    "note-not-linked": Case(
        note(), (rule(),), None, (("ops", False, "not linked to an issue; note not synced"),)
    ),
    "note-echo": Case(
        note(), (rule(),), link(), (("ops", False, "echo of our own write"),),
        echoes=frozenset({"note"}),
    ),
    "note-already-synced": Case(
        note(), (rule(),), link(), (("ops", False, "already synced (comment 10090)"),),
        synced_as="10090",
    ),
    "note-other-account": Case(
        note(account="other"), (rule(),), link(), (("ops", False, "account 'other'"),)
    ),
    "note-linked-on-other-instance": Case(
        note(), (rule(),), link(instance="dc2"), (("ops", False, "not the rule's instance"),)
    ),
    "note-two-rules-one-comment": Case(
        note(), (rule(name="a"), rule(name="b")), link(),
        (("a", True, "note"), ("b", False, "rule 'a' (sync_comments) already syncs it")),
        (ADD_COMMENT,),
    ),
    "note-service-filter-does-not-apply": Case(
        # a note carries no service; the link says which issue it belongs to
        note(), (rule(services=("PWEB",)),), link(), (("ops", True, "note"),), (ADD_COMMENT,),
    ),
    # ------------------------------------------------------------------ Jira comments
    "comment-linked-becomes-note": Case(
        comment(), (rule(),), link(), (("ops", True, "comment 10082 -> note on incident"),),
        (ADD_NOTE,),
    ),
    "comment-not-linked": Case(
        comment(), (rule(),), None, (("ops", False, "not linked to an incident; comment not"),)
    ),
    "comment-echo": Case(
        comment(), (rule(),), link(), (("ops", False, "echo of our own write"),),
        echoes=frozenset({"comment"}),
    ),
    "comment-already-synced": Case(
        comment(), (rule(),), link(), (("ops", False, "already synced (note PN9)"),),
        synced_as="PN9",
    ),
    "comment-other-project": Case(
        comment(fields=issue_fields(project={"key": "SEC"})), (rule(),), link(),
        (("ops", False, "project SEC"),),
    ),
    "comment-linked-to-other-account": Case(
        comment(), (rule(),), link(account="other"), (("ops", False, "account 'other'"),)
    ),
    "comment-edit-is-not-a-new-comment": Case(
        comment(issue_event_type="issue_comment_edited"), (rule(),), link(),
        (("ops", False, "autocreate_incidents is off"),),  # neither a new comment nor a status
    ),
    # ------------------------------------------------------------------ status echoes
    "pd-ack-echo": Case(
        incident_event("incident.acknowledged"), (rule(),), link(),
        (("ops", False, "echo of our own write: pdjira set the incident's status"),),
        echoes=frozenset({"status"}),
    ),
    "pd-resolve-echo": Case(
        incident_event("incident.resolved"), (rule(),), link(),
        (("ops", False, "echo of our own write"),), echoes=frozenset({"status"}),
    ),
    "jira-status-echo": Case(
        issue_event(status_change("Done")), (rule(),), link(),
        (("ops", False, "echo of our own write: pdjira moved OPS-4 to 'Done'"),),
        echoes=frozenset({"status"}),
    ),
    "jira-comment-echo-does-not-hide-a-status-change": Case(
        comment(status_change("In Progress")), (rule(),), link(),
        (("ops", False, "status In Progress not in [Done]"),),
        echoes=frozenset({"comment"}),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_decision(case: Case) -> None:
    decision = decide(
        case.event, case.rules, case.link, echoes=case.echoes, synced_as=case.synced_as
    )
    assert decision.commands == case.commands
    check_verdicts(decision, case.verdicts)


def test_a_comment_echo_does_not_hide_a_status_change_and_says_so() -> None:
    decision = decide(
        comment(status_change("In Progress")), (rule(),), link(), echoes=frozenset({"comment"})
    )
    assert decision.commands == ()
    [status, synced] = [v for v in decision.verdicts if v.item != "autocreate_incidents"]
    assert "status In Progress not in [Done]" in status.reason
    assert synced.reason.startswith("echo of our own write: pdjira added this comment")


def test_a_transition_with_a_comment_syncs_both() -> None:
    decision = decide(comment(status_change("Done")), (rule(),), link())
    assert [type(c).__name__ for c in decision.commands] == ["UpdateIncident", "AddNote"]
    assert decision.commands[1] == ADD_NOTE
    assert [(v.item, v.matched) for v in decision.verdicts if v.matched] == [
        ("react_on_issue_status_change_config[0]", True),
        ("sync_comments", True),
    ]


def test_echo_is_the_audit_summary() -> None:
    event = incident_event("incident.resolved")
    decision = decide(event, (rule(),), link(), echoes=frozenset({"status"}))
    record = audit_record(event, decision, recorded_at="t")
    assert record.summary == "echo of our own write: no command"
    assert record.command_ids == ()


def test_note_and_comment_commands_are_keyed_by_their_ids() -> None:
    one = decide(note(event_id="e1"), (rule(),), link()).commands
    two = decide(note(event_id="e2", correlation_id="e2"), (rule(),), link()).commands
    assert one[0].command_id == two[0].command_id == "note:acme:PNOTE1"
    [add_note] = decide(comment(), (rule(),), link()).commands
    assert command_subject(one[0]) == "commands.jira.dc1.PGR0VU2"
    assert command_subject(add_note) == "commands.pd.acme.PGR0VU2"


def _probe(system: str, entity: str, field_: str, value: str, event_id: str) -> EchoConsume:
    return EchoConsume(
        system=system,  # type: ignore[arg-type]
        entity=entity,
        field=field_,
        value=value,
        event_id=event_id,
    )


PD = "pd:acme:PGR0VU2"
JIRA = "jira:dc1:10100"


@pytest.mark.parametrize(
    ("event", "linked", "probes"),
    [
        pytest.param(
            incident_event("incident.acknowledged"), True,
            (_probe("pd", PD, "status", "acknowledged", "ev-1"),), id="pd-ack",
        ),
        pytest.param(
            incident_event("incident.resolved"), True,
            (_probe("pd", PD, "status", "resolved", "ev-1"),), id="pd-resolve",
        ),
        pytest.param(incident_event("incident.triggered"), True, (), id="pd-trigger-never-ours"),
        pytest.param(incident_event("incident.resolved"), False, (), id="not-linked-never-ours"),
        pytest.param(
            note(note=PdNote(id="PNOTE1", content="Restarted  the\r\npods ")), True,
            (_probe("pd", PD, "note", body_digest("Restarted the pods"), "ev-1"),), id="pd-note",
        ),
        pytest.param(
            issue_event(status_change("Done")), True,
            (_probe("jira", JIRA, "status", "Done", "jira:dc1:abc"),), id="jira-status",
        ),
        pytest.param(
            comment(status_change("Done")), True,
            (
                _probe("jira", JIRA, "status", "Done", "jira:dc1:abc"),
                _probe("jira", JIRA, "comment", body_digest("Looking into it"), "jira:dc1:abc"),
            ),
            id="jira-status-and-comment",
        ),
        pytest.param(issue_event(), True, (), id="jira-other-change"),
    ],
)  # fmt: skip
def test_echo_probes(event: Event, linked: bool, probes: tuple[EchoConsume, ...]) -> None:
    assert echo_probes(event, link() if linked else None) == probes


def test_pair_probes() -> None:
    assert pair_probe(note(), link()) == PairLookup(incident=INCIDENT, note_id="PNOTE1")
    assert pair_probe(comment(), link()) == PairLookup(incident=INCIDENT, comment_id="10082")
    assert pair_probe(note(), None) is None
    assert pair_probe(incident_event("incident.resolved"), link()) is None


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        pytest.param(note(), True, id="note"),
        pytest.param(note(account="other"), False, id="note-other-account"),
        pytest.param(comment(), True, id="comment"),
        pytest.param(comment(instance="dc9"), False, id="comment-other-instance"),
    ],
)
def test_notes_and_comments_need_the_link(event: Event, expected: bool) -> None:
    assert needs_link(event, compiled(rule(resolve_when_status=()))) is expected
