"""The template attribute adapter: the event's typed facts in the REST shape the placeholders
name (also for v1 events, upgraded from their flat fields and raw data)."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.contracts import IncidentEvent, IncidentEventV1, upgrade_event
from pdjira_rules.engine import incident_attrs
from pdjira_rules.templates import TemplateItem, render

from ..builders import incident_data, incident_event, note_event


def _pd(key: str) -> TemplateItem:
    return TemplateItem(key=key, icon="pd")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("incident.title", "A little bump in the road"),
        ("incident.description", "A little bump in the road"),  # PagerDuty's default
        ("incident.incident_number", "2"),
        ("incident.id", "PGR0VU2"),
        ("incident.status", "acknowledged"),
        ("incident.created_at", "2020-04-09T15:16:27Z"),
        ("incident.service.summary", "API Service"),
        ("incident.escalation_policy.summary", "Default"),
        ("incident.impacted_services.name", "API Service"),
        ("incident.html_url", "https://acme.pagerduty.com/incidents/PGR0VU2"),
        ("incident.acknowledgements.acknowledger.name", "Tenex Engineer"),
        ("incident.urgency", "high"),
        ("incident.assignee", "User 123"),
        ("incident.priority.summary", "P1"),
        ("incident.last_status_change_by.summary", "Tenex Engineer"),
        ("incident.last_status_change_at", "2020-10-02T18:45:22.169Z"),
        ("log_entries.channel.details", ""),  # not in a webhook
    ],
)
def test_every_placeholder_renders_from_an_acknowledged_event(key: str, expected: str) -> None:
    attrs = incident_attrs(incident_event("incident.acknowledged"))
    assert render(_pd(key), attrs) == expected


def test_acknowledgements_only_on_acknowledged_events() -> None:
    attrs = incident_attrs(incident_event("incident.escalated"))
    assert attrs["incident"]["acknowledgements"] == []
    assert render(_pd("incident.acknowledgements.acknowledger.name"), attrs) == ""


def v1_event(**overrides: Any) -> IncidentEvent:
    """A v1 event (pdjira before typed facts) with its flat fields, upgraded."""
    fields: dict[str, Any] = {
        "event_id": "ev-1",
        "correlation_id": "ev-1",
        "account": "acme",
        "incident_id": "PGR0VU2",
        "event_type": "incident.acknowledged",
        "occurred_at": "2020-10-02T18:45:22.169Z",
        "title": "A little bump in the road",
        "html_url": "https://acme.pagerduty.com/incidents/PGR0VU2",
        "status": "acknowledged",
        "number": 2,
        "urgency": "high",
        "service_id": "PSVC9",
        "service_name": "API Service",
        "priority": "P1",
        "agent_summary": "Tenex Engineer",
        "data": incident_data(status="acknowledged"),
    }
    return upgrade_event(IncidentEventV1(**{**fields, **overrides}))  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("overrides", "key", "expected"),
    [
        # Without raw data the flat v1 fields fill in.
        ({"data": None}, "incident.service.summary", "API Service"),
        ({"data": None}, "incident.priority.summary", "P1"),
        ({"data": None}, "incident.incident_number", "2"),
        ({"data": None}, "incident.assignee", ""),
        ({"data": None, "agent_summary": None}, "incident.last_status_change_by.summary", ""),
        # REST-shaped data (assignments, incident_number, description) reads as well.
        (
            {"data": {"assignments": [{"assignee": {"summary": "Ann"}}], "incident_number": 7}},
            "incident.assignee",
            "Ann",
        ),
        ({"data": {"incident_number": 7}}, "incident.incident_number", "7"),
        ({"data": {"description": "Longer text"}}, "incident.description", "Longer text"),
        (
            {"data": incident_data(assignees=[{"summary": "A"}, {"summary": "B"}])},
            "incident.assignee",
            "A, B",
        ),
    ],
)
def test_adapter_fallbacks(overrides: dict[str, Any], key: str, expected: str) -> None:
    attrs = incident_attrs(v1_event(**overrides))
    assert render(_pd(key), attrs) == expected


def test_adapter_tolerates_odd_data() -> None:
    odd = {"service": "not a mapping", "assignees": "nobody", "priority": 3, "title": None}
    attrs = incident_attrs(v1_event(data=odd))
    assert attrs["incident"]["title"] == "A little bump in the road"
    assert attrs["incident"]["service"] == {"id": "PSVC9", "summary": "API Service"}
    assert attrs["incident"]["assignments"] == []
    # The same odd data from ingest now: the odd parts are simply not there.
    attrs = incident_attrs(incident_event(data=odd))
    assert (attrs["incident"]["service"], attrs["incident"]["priority"]) == (None, None)


def test_note_event_attrs() -> None:
    attrs = incident_attrs(note_event())
    assert attrs["incident"]["id"] == "PGR0VU2"
    assert attrs["incident"]["service"] is None
    assert attrs["incident"]["impacted_services"] == []
