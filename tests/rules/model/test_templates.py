"""Templates: PagerDuty's item lists and {{placeholder}} strings rendered from an incident."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_rules.templates import (
    PLACEHOLDERS,
    Template,
    TemplateError,
    TemplateItem,
    render,
    render_description,
    render_labels,
    template_problems,
)

INCIDENT: dict[str, Any] = {
    "incident": {
        "id": "Q1ABC",
        "incident_number": 42,
        "title": "Checkout is down",
        "status": "acknowledged",
        "urgency": "high",
        "html_url": "https://acme.pagerduty.com/incidents/Q1ABC",
        "created_at": "2026-11-26T10:00:00Z",
        "service": {"id": "PSVC", "summary": "Checkout API", "type": "service_reference"},
        "escalation_policy": {"id": "PEP", "summary": "Checkout on-call"},
        "priority": {"id": "PZQ39X0", "summary": "P1", "name": "P1"},
        "assignments": [
            {"assignee": {"id": "PU1", "summary": "Ann Lee"}},
            {"assignee": {"id": "PU2", "summary": "Bo Chen"}},
        ],
        "acknowledgements": [{"acknowledger": {"id": "PU1", "summary": "Ann Lee"}}],
        "impacted_services": [{"id": "PSVC", "summary": "Checkout API"}],
        "last_status_change_by": {"id": "PU1", "summary": "Ann Lee"},
        "last_status_change_at": "2026-11-26T10:05:00Z",
    },
    "log_entries": [{"channel": {"details": "CPU > 90% for 5m"}}],
}
NO_PRIORITY: dict[str, Any] = {"incident": {"title": "Quiet", "priority": None}}


def pd(key: str, label: str | None = None) -> TemplateItem:
    return TemplateItem(key=key, label=label, icon="pd")


def text(value: str) -> TemplateItem:
    return TemplateItem(key=value, label=value, icon="text")


@pytest.mark.parametrize(
    ("template", "attrs", "expected"),
    [
        ("{{incident.title}}", INCIDENT, "Checkout is down"),
        ("{{ incident.title }}", INCIDENT, "Checkout is down"),
        ("#{{incident.incident_number}}: {{incident.title}}", INCIDENT, "#42: Checkout is down"),
        ("{{incident.service.summary}}", INCIDENT, "Checkout API"),
        ("{{incident.html_url}}", INCIDENT, "https://acme.pagerduty.com/incidents/Q1ABC"),
        ("{{incident.urgency}}", INCIDENT, "high"),
        ("{{incident.priority.summary}}", INCIDENT, "P1"),
        ("{{incident.priority.summary}}", NO_PRIORITY, ""),
        ("{{incident.assignee}}", INCIDENT, "Ann Lee, Bo Chen"),
        ("{{incident.acknowledgements.acknowledger.name}}", INCIDENT, "Ann Lee"),
        ("{{incident.impacted_services.name}}", INCIDENT, "Checkout API"),
        ("{{incident.escalation_policy.summary}}", INCIDENT, "Checkout on-call"),
        ("{{log_entries.channel.details}}", INCIDENT, "CPU > 90% for 5m"),
        ("{{incident.last_status_change_by.summary}}", INCIDENT, "Ann Lee"),
        ("{{incident.id}} {{incident.status}}", INCIDENT, "Q1ABC acknowledged"),
        ("no placeholders", INCIDENT, "no placeholders"),
        ("{{incident.title}}", {"incident.title": "flat map"}, "flat map"),
        (pd("incident.title"), INCIDENT, "Checkout is down"),
        ([pd("incident.title"), text("free text")], INCIDENT, "Checkout is down free text"),
        ([text("LinkedToPagerduty")], INCIDENT, "LinkedToPagerduty"),
        ([pd("incident.priority.summary"), text("x")], NO_PRIORITY, "x"),
        ([], INCIDENT, ""),
    ],
)
def test_render(template: Template, attrs: dict[str, Any], expected: str) -> None:
    assert render(template, attrs) == expected


def test_render_description_labels_attributes() -> None:
    template = [pd("incident.title", "Incident title"), pd("incident.urgency"), text("Thanks")]
    assert render_description(template, INCIDENT) == (
        "Incident title: Checkout is down\nincident.urgency: high\nThanks"
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ([pd("incident.service.summary", "Service name")], ["Checkout_API"]),
        ([text("LinkedToPagerduty"), text("LinkedToPagerduty")], ["LinkedToPagerduty"]),
        ([text("pagerduty"), pd("incident.urgency")], ["pagerduty", "high"]),
        ("pagerduty, sev-{{incident.urgency}}", ["pagerduty", "sev-high"]),
        ([pd("incident.priority.summary")], []),
    ],
)
def test_render_labels(template: Template, expected: list[str]) -> None:
    attrs = INCIDENT if expected else NO_PRIORITY
    assert render_labels(template, attrs) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{incident.titel}}",
        "{{ incident.nope }} and {{incident.title}}",
        pd("incident.summary"),
        [pd("incident.title"), pd("log_entries.details")],
    ],
)
def test_unknown_placeholders_are_refused(template: Template) -> None:
    problems = template_problems(template)
    assert len(problems) == 1
    assert problems[0].startswith("unknown placeholder '")
    assert "incident.title" in problems[0]  # the message lists what exists
    with pytest.raises(TemplateError, match="unknown placeholder"):
        render(template, INCIDENT)


def test_text_items_are_literal_even_when_they_look_like_keys() -> None:
    assert template_problems([text("incident.bogus")]) == []
    assert render([text("incident.bogus")], INCIDENT) == "incident.bogus"


def test_every_placeholder_of_pagerdutys_example_is_known() -> None:
    example = {
        "incident.title", "incident.incident_number", "incident.id",
        "log_entries.channel.details", "incident.status", "incident.created_at",
        "incident.service.summary", "incident.escalation_policy.summary",
        "incident.impacted_services.name", "incident.html_url",
        "incident.acknowledgements.acknowledger.name", "incident.urgency", "incident.assignee",
        "incident.priority.summary", "incident.last_status_change_by.summary",
        "incident.last_status_change_at",
    }  # fmt: skip
    assert example <= PLACEHOLDERS
    for key in example:
        render("{{" + key + "}}", INCIDENT)
