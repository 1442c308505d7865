"""The pd-writer's reconciliation read (pure parts): log entries grouped per incident in order,
and an incident with its window's notes."""

from __future__ import annotations

from datetime import UTC, datetime

from pdjira_pd_writer.models import IncidentNote, LogEntry, Reference
from pdjira_pd_writer.reads import changed_incident, incidents_in_order

SINCE = datetime(2020, 10, 2, 18, 0, tzinfo=UTC)
UNTIL = datetime(2020, 10, 2, 19, 0, tzinfo=UTC)


def _entry(entry_id: str, kind: str, at: str, incident: str) -> LogEntry:
    return LogEntry(id=entry_id, type=kind, created_at=at, incident=Reference(id=incident))


def test_entries_are_grouped_by_incident_oldest_first_and_only_synced_kinds() -> None:
    entries = (  # newest first, as PagerDuty lists them
        _entry("R4", "resolve_log_entry", "2020-10-02T18:04:00Z", "PB"),
        _entry("R3", "notify_log_entry", "2020-10-02T18:03:00Z", "PA"),
        _entry("R2", "acknowledge_log_entry", "2020-10-02T18:02:00Z", "PA"),
        _entry("R1", "trigger_log_entry", "2020-10-02T18:01:00Z", "PB"),
    )
    grouped = incidents_in_order(entries)
    assert list(grouped) == ["PB", "PA"]  # by first change
    assert [e.id for e in grouped["PB"]] == ["R1", "R4"]
    assert [e.id for e in grouped["PA"]] == ["R2"]


def test_an_incident_keeps_its_facts_and_the_notes_of_the_window() -> None:
    incident = {
        "id": "PA",
        "title": "Checkout down",
        "status": "acknowledged",
        "incident_number": 7,
        "created_at": "2020-10-02T17:00:00Z",
        "description": "x" * 100_000,
        "service": {"id": "PSVC001", "summary": "Checkout API"},
        "first_trigger_log_entry": {"id": "RFIRST"},
    }
    notes = (
        IncidentNote(id="N2", content="later", created_at="2020-10-02T19:00:00Z"),
        IncidentNote(id="N1", content="in", created_at="2020-10-02T18:10:00Z"),
        IncidentNote(id="N0", content="before", created_at="2020-10-02T17:59:59Z"),
    )
    entries = [_entry("R2", "annotate_log_entry", "2020-10-02T18:10:00Z", "PA")]
    changed = changed_incident(incident, entries, notes, since=SINCE, until=UNTIL)
    assert [n.id for n in changed.notes] == ["N1"]
    assert changed.first_trigger_log_entry == "RFIRST"
    assert changed.facts is not None
    assert (changed.facts.status, changed.facts.number, changed.facts.description) == (
        "acknowledged",
        7,
        None,  # a webhook has none; a large one must not fill the reply
    )
