"""Reading webhook objects into typed facts: lenient on what describes, bounded in size, and
never confusing "not carried" with "carried empty"."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec import UNSET
from pdjira_common.contracts import IssueEvent, decode_event, encode
from pdjira_common.facts import (
    MAX_CUSTOM_FIELDS,
    MAX_NAME,
    MAX_TEXT,
    MAX_VALUES,
    FieldValue,
    IssueFields,
    JiraRef,
    JiraUser,
    PdRef,
    read_incident,
    read_issue_fields,
)
from pdjira_ingest.normalize import normalize_jira

from .payloads import jira_issue_created, pd_incident


def test_incident_rest_shape_reads_like_the_webhook_shape() -> None:
    rest = {
        "status": "acknowledged",
        "incident_number": 7,
        "assignments": [{"assignee": {"id": "PA", "summary": "Ann"}}],
        "description": "Longer text",
    }
    facts = read_incident(rest)
    assert facts is not None
    assert (facts.number, facts.assignees, facts.description) == (
        7,
        (PdRef(id="PA", summary="Ann"),),
        "Longer text",
    )


@pytest.mark.parametrize(
    "odd",
    [
        {"service": "not a mapping", "assignees": "nobody", "priority": 3, "number": "2"},
        {"service": {}, "assignees": [1, None, {}], "priority": {"x": 1}, "number": True},
    ],
)
def test_incident_odd_parts_are_left_out(odd: dict[str, Any]) -> None:
    facts = read_incident({**pd_incident(), **odd})
    assert facts is not None
    assert (facts.service, facts.priority, facts.assignees, facts.number) == (None, None, (), None)


def test_incident_without_a_known_status_has_no_facts() -> None:
    assert read_incident({"status": "open"}) is None
    assert read_incident(None) is None
    assert read_incident(None, status="resolved") is not None


def test_issue_fields_not_carried_are_unset_carried_empty_are_empty() -> None:
    fields = read_issue_fields(
        {"project": {"key": "OPS"}, "assignee": None, "components": [], "labels": None}
    )
    assert (fields.assignee, fields.components, fields.labels) == (None, (), ())
    assert (fields.reporter, fields.fix_versions, fields.due_date) == (UNSET, UNSET, UNSET)
    assert fields.custom == {}


def test_custom_field_shapes() -> None:
    fields = read_issue_fields(
        {
            "customfield_1": {"self": "x", "value": "Gold", "id": "10300"},
            "customfield_2": 7.5,
            "customfield_3": [{"value": "Payments"}, {"value": "SRE"}],
            "customfield_4": None,
            "customfield_5": {"name": "kim", "key": "JIRAUSER1", "emailAddress": "k@x"},
            "customfield_6": [[1], {"self": "only"}],  # nothing identifiable: left out
        }
    )
    assert fields.custom == {
        "customfield_1": (FieldValue(names=("Gold", "10300")),),
        "customfield_2": (FieldValue(value=7.5),),
        "customfield_3": (FieldValue(names=("Payments",)), FieldValue(names=("SRE",))),
        "customfield_4": (),
        "customfield_5": (FieldValue(names=("kim", "JIRAUSER1", "k@x")),),
        "customfield_6": (),
    }


def test_issue_system_fields_are_typed() -> None:
    fields = read_issue_fields(
        {
            "status": {"id": 3, "name": "In Progress", "statusCategory": {"id": 4, "key": "x"}},
            "fixVersions": [{"id": "1", "name": "1.0"}],
            "parent": {"id": "10", "key": "OPS-1"},
            "reporter": {"name": "a", "displayName": "A", "emailAddress": "a@x"},
            "duedate": "2026-12-01",
        }
    )
    assert fields.status == JiraRef(id="3", name="In Progress")
    assert fields.status_category == JiraRef(id="4", key="x")
    assert fields.fix_versions == (JiraRef(id="1", name="1.0"),)
    assert fields.parent == JiraRef(id="10", key="OPS-1")
    assert fields.reporter == JiraUser(name="a", email="a@x", display_name="A")
    assert fields.due_date == "2026-12-01"


def test_big_values_are_cut_and_named_as_clipped() -> None:
    fields = read_issue_fields(
        {
            "description": "x" * (MAX_TEXT + 5),
            "labels": [f"l{i}" for i in range(MAX_VALUES + 3)],
            "customfield_1": "y" * (MAX_TEXT + 1),
            "customfield_2": {"value": "z" * (MAX_NAME + 1)},
            "summary": "short",
        }
    )
    assert isinstance(fields.description, str)
    assert len(fields.description) == MAX_TEXT
    assert isinstance(fields.labels, tuple)
    assert len(fields.labels) == MAX_VALUES
    assert set(fields.clipped) == {"description", "labels", "customfield_1", "customfield_2"}
    # What is cut still fits the contract (a decoder enforces the same bounds).
    assert msgspec.json.decode(msgspec.json.encode(fields), type=IssueFields) == fields


def test_custom_fields_beyond_the_bound_are_not_carried() -> None:
    raw = {f"customfield_{i}": None for i in range(MAX_CUSTOM_FIELDS + 10)}
    fields = read_issue_fields(raw)
    assert len(fields.custom) == MAX_CUSTOM_FIELDS
    assert "customfield_0" in fields.custom
    assert f"customfield_{MAX_CUSTOM_FIELDS + 5}" not in fields.custom  # JQL asks Jira


def test_an_event_over_the_bounds_does_not_decode() -> None:
    # Ingest never makes one; a hostile publisher's is refused (and dead-lettered).
    payload = jira_issue_created()
    event = normalize_jira("dc1", payload, event_id="e")
    assert isinstance(event, IssueEvent)
    too_many = msgspec.structs.replace(event.fields, labels=tuple("x" * (MAX_VALUES + 1)))
    body = encode(msgspec.structs.replace(event, fields=too_many))
    with pytest.raises(msgspec.ValidationError, match="labels"):
        decode_event(body)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "key", "name", "value", "statusCategory", "displayName"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=10,
)
FIELDS = [
    "project", "issuetype", "status", "priority", "labels", "components", "assignee", "summary",
    "description", "created", "duedate", "fixVersions", "parent", "resolution", "customfield_1",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(raw=json_values | st.dictionaries(st.sampled_from(FIELDS), json_values))
def test_reading_never_raises_and_always_round_trips(raw: Any) -> None:
    fields = read_issue_fields(raw)
    assert msgspec.json.decode(msgspec.json.encode(fields), type=IssueFields) == fields
