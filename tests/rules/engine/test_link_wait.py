"""Which events wait for a pending link, for how long, and the marks a create leaves (pure)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from pdjira_common.contracts import (
    AddComment,
    CreateIncident,
    CreateIssue,
    Event,
    IncidentRef,
    IssueRef,
)
from pdjira_rules.link_wait import (
    NeverLinked,
    PendingLink,
    WaitForLink,
    awaits_link,
    creation_mark_key,
    link_gate,
    link_needed_for,
    pending_key,
    pending_marks,
)

from ..builders import (
    comment_event,
    incident_data,
    incident_event,
    issue_event,
    issue_fields,
    link,
    note_event,
    priority_change,
    status_change,
)

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
INCIDENT = IncidentRef(account="acme", incident_id="PGR0VU2")
ISSUE = IssueRef(instance="dc1", issue_id="10100", key="OPS-4")


def _mark(sent_at: datetime = T0) -> PendingLink:
    return PendingLink(
        command="CreateIssue",
        command_id="create:acme:PGR0VU2",
        correlation_id="ev-1",
        sent_at=sent_at.isoformat(),
    )


@pytest.mark.parametrize(
    ("event", "needed"),
    [
        pytest.param(note_event(), "note", id="pd-note"),
        pytest.param(incident_event("incident.priority_updated"), "priority change", id="pd-prio"),
        # The engine sends these for the issue a rule creates; jira-writer waits for it.
        pytest.param(incident_event("incident.acknowledged"), None, id="pd-ack"),
        pytest.param(incident_event("incident.resolved"), None, id="pd-resolve"),
        pytest.param(incident_event(), None, id="pd-trigger-is-the-create"),
        pytest.param(comment_event(), "comment", id="jira-comment"),
        pytest.param(issue_event(status_change("Done")), "status change", id="jira-status"),
        pytest.param(issue_event(priority_change("High")), "priority change", id="jira-prio"),
        pytest.param(
            issue_event(webhook_event="jira:issue_created"), None, id="jira-created-is-the-create"
        ),
        pytest.param(issue_event(), None, id="jira-update-of-other-fields"),
    ],
)
def test_what_needs_the_link(event: Event, needed: str | None) -> None:
    assert link_needed_for(event) == needed
    assert awaits_link(event, None) is (needed is not None)
    assert awaits_link(event, link()) is False


def test_a_create_marks_its_entity_under_the_key_its_events_look_up() -> None:
    issue = CreateIssue(
        command_id="create:acme:PGR0VU2",
        correlation_id="ev-1",
        incident=INCIDENT,
        instance="dc1",
        project="OPS",
        issue_type="Task",
        summary="s",
        description="d",
    )
    incident = CreateIncident(
        command_id="incident-for:dc1:10100",
        correlation_id="jira:dc1:abc",
        account="acme",
        service_id="PSVC9",
        title="t",
        body="b",
        issue=ISSUE,
    )
    comment = AddComment(
        command_id="note:acme:N1",
        correlation_id="ev-1",
        incident=INCIDENT,
        instance="dc1",
        note_id="N1",
        body="b",
    )

    marks = dict(pending_marks([issue, comment, incident], sent_at=T0))

    incident_mark = PendingLink(
        command="CreateIncident",
        command_id="incident-for:dc1:10100",
        correlation_id="jira:dc1:abc",
        sent_at="2026-01-05T12:00:00+00:00",
    )
    # The incident it makes is known by its incident_key (the issue's key) before its link.
    ours = incident_event(data=incident_data(id="PNEW1", incident_key=ISSUE.key))
    made_key = creation_mark_key(ours)
    assert made_key is not None
    assert marks == {
        pending_key(note_event()): _mark(),
        pending_key(comment_event()): incident_mark,
        made_key: incident_mark,
    }
    # ... and the issue pdjira makes for an incident by its label, under the incident's mark.
    labelled = issue_event(fields=issue_fields(labels=["x", f"pdjira-acme-{INCIDENT.incident_id}"]))
    assert creation_mark_key(labelled) == pending_key(note_event())
    assert creation_mark_key(issue_event()) is None
    assert creation_mark_key(incident_event()) is None  # no incident_key: a person's incident
    # An incident and an issue with the same ids are different entities.
    assert pending_key(incident_event(incident_id="10100", account="dc1")) != pending_key(
        issue_event()
    )


@pytest.mark.parametrize("incident_id", ["P" * 5000, "a.b c*>", "a_b c*>", "ü/../"])
def test_keys_are_bounded_valid_and_distinct_whatever_the_ids(incident_id: str) -> None:
    key = pending_key(incident_event(incident_id=incident_id))
    assert re.fullmatch(r"pd\.[0-9a-f]{40}", key)
    assert key != pending_key(incident_event(incident_id=incident_id + "x"))


def test_decided_now_when_linked_or_nothing_pending_or_nothing_needs_the_link() -> None:
    now = T0 + timedelta(seconds=1)
    gate = {"arrived": T0, "now": now, "limit": 120.0}
    assert link_gate(note_event(), link(), _mark(), **gate) is None
    assert link_gate(note_event(), None, None, **gate) is None
    assert link_gate(incident_event("incident.acknowledged"), None, _mark(), **gate) is None


def test_waits_until_the_bound_then_gives_up_with_the_reason() -> None:
    note = note_event(event_id="n1")
    soon, later = T0 + timedelta(seconds=119), T0 + timedelta(seconds=120)
    waiting = link_gate(note, None, _mark(), arrived=T0, now=soon, limit=120)
    assert waiting == WaitForLink(
        "the note of pd:acme:PGR0VU2 waits for its issue to be linked (CreateIssue "
        "create:acme:PGR0VU2 sent at 2026-01-05T12:00:00+00:00); dead-lettered if not linked by "
        "2026-01-05T12:02:00+00:00"
    )
    given_up = link_gate(note, None, _mark(), arrived=T0, now=later, limit=120)
    assert given_up == NeverLinked(
        "issue never got linked within 120 s: the note of pd:acme:PGR0VU2 (event n1) waited for "
        "CreateIssue create:acme:PGR0VU2 sent at 2026-01-05T12:00:00+00:00"
    )
    comment = link_gate(
        comment_event(), None, _mark(), arrived=T0, now=T0 + timedelta(seconds=3), limit=2.5
    )
    assert isinstance(comment, NeverLinked)
    assert comment.reason.startswith(
        "incident never got linked within 2.5 s: the comment of jira:dc1:10100"
    )


def test_the_bound_runs_from_the_later_of_the_create_and_the_arrival() -> None:
    late_event = T0 + timedelta(seconds=300)  # e.g. rules was down meanwhile
    gate = link_gate(
        note_event(), None, _mark(), arrived=late_event, now=late_event + timedelta(seconds=60),
        limit=120,
    )  # fmt: skip
    assert isinstance(gate, WaitForLink)
    late_create = link_gate(
        note_event(), None, _mark(sent_at=late_event), arrived=T0,
        now=late_event + timedelta(seconds=60), limit=120,
    )  # fmt: skip
    assert isinstance(late_create, WaitForLink)
    unreadable = PendingLink(command="CreateIssue", command_id="c", correlation_id="x", sent_at="?")
    gate = link_gate(
        note_event(), None, unreadable, arrived=T0, now=T0 + timedelta(seconds=121), limit=120
    )
    assert isinstance(gate, NeverLinked)  # from the arrival
