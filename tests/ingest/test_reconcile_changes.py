"""The poller's pure parts: stable ids (the same for a webhook and the poller's copy of its
change), vendor changes -> synthetic events, the poll window and the projects polled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from pdjira_common.config import ReconcileSettings, parse_config
from pdjira_common.contracts import FieldChange, IncidentEvent, IssueEvent
from pdjira_common.facts import IncidentFacts, IssueFields, JiraRef, JiraUser, PdAgent
from pdjira_common.requests import (
    JiraCommentChange,
    JiraHistory,
    JiraIssueChanges,
    PdIncidentChanges,
    PdLogEntry,
    PdNoteChange,
)
from pdjira_ingest.normalize import normalize_jira, normalize_pagerduty
from pdjira_ingest.reconcile.changes import Window, poll_window, repaired, ripe
from pdjira_ingest.reconcile.jira import issue_changes, issue_create, projects_to_poll
from pdjira_ingest.reconcile.pagerduty import incident_changes, incident_create
from pdjira_ingest.stable_ids import (
    MAX_ID,
    bounded,
    jira_history_id,
    status_key,
    to_the_second,
)

from .payloads import jira_issue_updated, pd_annotated, pd_envelope, pd_incident

T0 = datetime(2020, 10, 2, 18, 0, tzinfo=UTC)
ALL = Window(since=T0 - timedelta(days=1), until=T0 + timedelta(days=1))
ME = JiraUser(name="pdjira", key="JIRAUSER10300")
JDOE = JiraUser(name="jdoe", key="JIRAUSER10100")

# ------------------------------------------------------------------------------ ids


def test_a_long_vendor_id_becomes_a_bounded_unique_key() -> None:
    long_one, long_two = "x" * 5000, "x" * 4999 + "y"
    one, two = jira_history_id("dc1", "10100", long_one), jira_history_id("dc1", "10100", long_two)
    assert len(one) <= MAX_ID
    assert len(two) <= MAX_ID
    assert one != two
    assert bounded("pd:acme:short") == "pd:acme:short"


def test_times_to_the_second_whatever_the_vendor_format() -> None:
    assert to_the_second("2020-10-02T18:45:22.169Z") == "2020-10-02T18:45:22Z"
    assert to_the_second("2020-10-02T20:45:22+02:00") == "2020-10-02T18:45:22Z"
    assert to_the_second("2020-10-02T18:45:22.999+0000") == "2020-10-02T18:45:22Z"
    assert to_the_second("yesterday") is None


def test_a_pagerduty_status_webhook_and_its_log_entry_pair_by_type_and_second() -> None:
    webhook = normalize_pagerduty(
        "acme", pd_envelope("incident.acknowledged", pd_incident(status="acknowledged"))
    )
    entry = PdLogEntry(id="R1", type="acknowledge_log_entry", created_at="2020-10-02T18:45:22Z")
    [polled] = incident_changes("acme", _incident(entry), ALL)
    assert isinstance(webhook, IncidentEvent)
    # Two acknowledges can share a second: the webhook keeps its own id...
    assert webhook.event_id == "pd:acme:5ac64822-4adc-4fda-ade0-410becf0de4f"
    # ...and the poller pairs it with the log entry by type and second.
    assert polled.webhook_key == status_key(webhook.event_type, webhook.occurred_at)
    assert polled.webhook_key == "incident.acknowledged@2020-10-02T18:45:22Z"


def test_two_alike_status_changes_in_one_second_get_two_ids() -> None:
    entries = [
        PdLogEntry(id=f"R{n}", type="acknowledge_log_entry", created_at="2020-10-02T18:45:22Z")
        for n in (1, 2)
    ]
    one, two = incident_changes("acme", _incident(*entries), ALL)
    assert one.event.event_id == "pd:acme:PGR0VU2:incident.acknowledged:2020-10-02T18:45:22Z"
    assert two.event.event_id == one.event.event_id + ":1"


def test_a_pagerduty_note_webhook_and_the_polled_note_get_one_id() -> None:
    webhook = normalize_pagerduty("acme", pd_annotated(note_id="P2LA89X"))
    note = PdNoteChange(id="P2LA89X", content="hi", created_at="2020-10-02T18:45:22Z")
    [polled] = incident_changes("acme", _incident(notes=(note,)), ALL)
    assert isinstance(webhook, IncidentEvent)
    assert polled.event.event_id == webhook.event_id == "pd:acme:PGR0VU2:nP2LA89X"


def test_jira_webhooks_get_the_id_of_their_change() -> None:
    items = [{"field": "status", "from": "1", "fromString": "Open", "to": "3", "toString": "Done"}]
    moved = normalize_jira("dc1", jira_issue_updated(items), event_id="jira:dc1:hash")
    comment = {"id": "10082", "body": "looking", "created": "2019-08-14T04:02:33.674+0200"}
    commented = normalize_jira(
        "dc1",
        jira_issue_updated(event_type_name="issue_commented", comment=comment),
        event_id="jira:dc1:hash",
    )
    edited = normalize_jira(
        "dc1",
        jira_issue_updated(event_type_name="issue_comment_edited", comment=comment),
        event_id="jira:dc1:hash",
    )
    assert isinstance(moved, IssueEvent)
    assert isinstance(commented, IssueEvent)
    assert isinstance(edited, IssueEvent)
    assert moved.event_id == "jira:dc1:10100:h10508"
    assert commented.event_id == commented.correlation_id == "jira:dc1:10100:c10082"
    assert edited.event_id == "jira:dc1:hash"  # no change of its own: the body's hash


# ------------------------------------------------------------------------------ PagerDuty


def _incident(
    *entries: PdLogEntry,
    notes: tuple[PdNoteChange, ...] = (),
    created: str = "2020-10-02T18:00:00Z",
) -> PdIncidentChanges:
    return PdIncidentChanges(
        incident_id="PGR0VU2",
        title="Checkout down",
        created_at=created,
        first_trigger_log_entry="RFIRST",
        facts=IncidentFacts(status="resolved", number=2, urgency="high"),
        log_entries=entries,
        notes=notes,
    )


def test_log_entries_become_the_status_events_in_order() -> None:
    agent = PdAgent(id="PUSER01", type="user_reference")
    incident = _incident(
        PdLogEntry(id="RFIRST", type="trigger_log_entry", created_at="2020-10-02T18:00:00Z"),
        PdLogEntry(id="R2", type="acknowledge_log_entry", created_at="2020-10-02T18:01:00Z"),
        PdLogEntry(id="R3", type="resolve_log_entry", created_at="2020-10-02T18:02:00Z"),
        PdLogEntry(
            id="R4", type="trigger_log_entry", created_at="2020-10-02T18:03:00Z", agent=agent
        ),
        PdLogEntry(id="R5", type="escalate_log_entry", created_at="2020-10-02T18:04:00Z"),
    )
    changes = incident_changes("acme", incident, ALL)
    events = [c.event for c in changes]
    assert all(isinstance(e, IncidentEvent) for e in events)
    assert [(e.event_type, e.status) for e in events] == [  # type: ignore[union-attr]
        ("incident.triggered", "triggered"),
        ("incident.acknowledged", "acknowledged"),
        ("incident.resolved", "resolved"),
        ("incident.reopened", "triggered"),  # a later trigger entry is a reopen
    ]
    assert [c.kind for c in changes] == ["create", "update", "update", "update"]
    assert events[3].agent == agent  # type: ignore[union-attr]
    assert {e.origin for e in events} == {"reconcile"}


def test_only_changes_in_the_window_are_published() -> None:
    incident = _incident(
        PdLogEntry(id="R2", type="acknowledge_log_entry", created_at="2020-10-02T17:59:59Z"),
        PdLogEntry(id="R3", type="resolve_log_entry", created_at="2020-10-02T18:00:00Z"),
        PdLogEntry(id="R4", type="trigger_log_entry", created_at="2020-10-02T18:05:00Z"),
    )
    window = Window(since=T0, until=T0 + timedelta(minutes=5))
    [change] = incident_changes("acme", incident, window)
    assert change.event.event_id.endswith("incident.resolved:2020-10-02T18:00:00Z")


def test_the_repair_trigger_and_its_own_id() -> None:
    create = incident_create("acme", _incident())
    assert create is not None
    again = repaired(create.event)
    assert again.event_id == again.correlation_id
    assert again.event_id == "recon:pd:acme:PGR0VU2:incident.triggered:2020-10-02T18:00:00Z"


# ------------------------------------------------------------------------------ Jira


def _issue(
    *histories: JiraHistory, comments: tuple[JiraCommentChange, ...] = (), creator: JiraUser = JDOE
) -> JiraIssueChanges:
    fields = IssueFields(
        project=JiraRef(key="OPS"),
        issue_type=JiraRef(name="Bug"),
        status=JiraRef(id="10001", name="Done"),
        status_category=JiraRef(key="done"),
        created="2020-10-02T18:00:00.000+0000",
        creator=creator,
    )
    return JiraIssueChanges(
        id="10100", key="OPS-4", fields=fields, histories=histories, comments=comments
    )


def _moved(history_id: str, at: str, src: str, dst: str, by: JiraUser = JDOE) -> JiraHistory:
    change = FieldChange(field="status", from_string=src, to_string=dst, from_value=src[0])
    return JiraHistory(
        id=history_id,
        created=at,
        author=by,
        items=(msgspec.structs.replace(change, to_value=dst[0]),),
    )


def test_an_issue_becomes_created_history_and_comment_events_with_the_status_then() -> None:
    issue = _issue(
        _moved("11", "2020-10-02T18:01:00.000+0000", "To Do", "In Progress"),
        _moved("12", "2020-10-02T18:03:00.000+0000", "In Progress", "Done"),
        comments=(
            JiraCommentChange(id="90", body="on it", created="2020-10-02T18:02:00.000+0000"),
        ),
    )
    changes = issue_changes("dc1", issue, ALL, ME)
    events = [c.event for c in changes]
    assert [e.event_id for e in events] == [
        "jira:dc1:10100:created",
        "jira:dc1:10100:h11",
        "jira:dc1:10100:c90",
        "jira:dc1:10100:h12",
    ]
    assert [e.status for e in events] == ["To Do", "In Progress", "In Progress", "Done"]  # type: ignore[union-attr]
    comment = events[2]
    assert isinstance(comment, IssueEvent)
    assert comment.is_comment
    assert comment.timestamp_ms == int(datetime(2020, 10, 2, 18, 2, tzinfo=UTC).timestamp() * 1000)


def test_pdjira_own_changes_are_not_published() -> None:
    issue = _issue(
        _moved("11", "2020-10-02T18:01:00.000+0000", "To Do", "Done", by=ME),
        comments=(
            JiraCommentChange(
                id="90", body="[PagerDuty] a note", created="2020-10-02T18:02:00Z", author=ME
            ),
        ),
        creator=ME,
    )
    assert issue_changes("dc1", issue, ALL, ME) == []
    assert issue_create("dc1", issue, ME) is None


def test_projects_polled_are_the_ones_the_rules_name() -> None:
    config = parse_config(
        {
            "pagerduty_accounts": [{"id": "acme", "token": "t", "from_email": "a@example.com"}],
            "jira_instances": [
                {
                    "id": "dc1",
                    "base_url": "j",
                    "auth": {"type": "token", "token": "t"},
                    "webhook_secret": "s",
                },
                {
                    "id": "dc2",
                    "base_url": "j2",
                    "auth": {"type": "token", "token": "t"},
                    "webhook_secret": "s",
                },
            ],
            "rules": [
                {
                    "name": "a",
                    "account": "acme",
                    "instance": "dc1",
                    "project": "OPS",
                    "issue_type": "Task",
                },
            ],
            "pagerduty_rules": [
                {
                    "account": "acme",
                    "instance": "dc1",
                    "rule": {
                        "config": {"projects": [{"key": "SRE"}, {"id": "10400"}, {"key": "OPS"}]}
                    },
                }
            ],
        }
    )
    assert projects_to_poll(config, "dc1") == ("OPS", "SRE", "10400")
    assert projects_to_poll(config, "dc2") == ()  # none named: every project


# ------------------------------------------------------------------------------ window


@pytest.mark.parametrize(
    ("watermark", "since"),
    [
        (None, T0 - timedelta(seconds=3600)),
        (T0 - timedelta(seconds=60), T0 - timedelta(seconds=360)),
    ],
)
def test_the_poll_window(watermark: datetime | None, since: datetime) -> None:
    window = poll_window(watermark, T0 + timedelta(microseconds=5), ReconcileSettings())
    assert window == Window(since=since, until=T0 - timedelta(seconds=5))


def test_repair_waits_an_interval_past_settle() -> None:
    settings = ReconcileSettings(interval=60, settle=5)
    [change] = incident_changes(
        "acme",
        _incident(
            PdLogEntry(id="R2", type="acknowledge_log_entry", created_at="2020-10-02T18:00:00Z")
        ),
        ALL,
    )
    assert not ripe(change, T0 + timedelta(seconds=64), settings)
    assert ripe(change, T0 + timedelta(seconds=65), settings)
