"""Normalization of vendor payloads (shaped like the real ones) into our event contracts."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from msgspec import UnsetType
from pdjira_common.contracts import FieldChange, IncidentEvent, IssueEvent, decode_event, encode
from pdjira_common.facts import (
    FieldValue,
    IncidentFacts,
    JiraComment,
    JiraRef,
    JiraUser,
    PdAgent,
    PdNote,
    PdRef,
    read_issue_fields,
)
from pdjira_ingest.normalize import (
    Ignored,
    WebhookRejected,
    jira_event_id,
    normalize_jira,
    normalize_pagerduty,
    pagerduty_msg_id,
)

from .payloads import (
    jira_comment_created,
    jira_issue_created,
    jira_issue_updated,
    pd_annotated,
    pd_envelope,
    pd_incident,
    pd_ping,
)

Json = dict[str, Any]

# ----------------------------------------------------------------------------- PagerDuty


@pytest.mark.parametrize(
    "event_type", ["incident.triggered", "incident.acknowledged", "incident.resolved"]
)
def test_incident_event_carries_status_service_and_agent(event_type: str) -> None:
    status = event_type.removeprefix("incident.")
    data = pd_incident(status=status)
    payload = pd_envelope(event_type, data)

    event = normalize_pagerduty("acme", payload)

    change_id = "pd:acme:5ac64822-4adc-4fda-ade0-410becf0de4f"  # the webhook's own id
    assert event == IncidentEvent(
        event_id=change_id,
        correlation_id=change_id,
        account="acme",
        incident_id="PGR0VU2",
        event_type=event_type,
        occurred_at="2020-10-02T18:45:22.169Z",
        title="A little bump in the road",
        html_url="https://acme.pagerduty.com/incidents/PGR0VU2",
        agent=PdAgent(id="PLH1HKV", type="user_reference", summary="Tenex Engineer"),
        facts=IncidentFacts(
            status=status,  # type: ignore[arg-type]
            number=2,
            urgency="high",
            service=PdRef(id="PF9KMXH", summary="API Service"),
            priority=PdRef(id="PSO75BM", summary="P1"),
            escalation_policy=PdRef(id="PUS0KTE", summary="Default"),
            assignees=(PdRef(id="PTUXL6G", summary="User 123"),),
            created_at="2020-04-09T15:16:27Z",
            incident_key="d3640fbd41094207a1c11e58e46b1662",
        ),
    )


def test_priority_null_and_agent_null_are_fine() -> None:
    payload = pd_envelope("incident.triggered", pd_incident(priority=None))
    payload["event"]["agent"] = None

    event = normalize_pagerduty("acme", payload)

    assert isinstance(event, IncidentEvent)
    assert event.facts is not None
    assert (event.facts.priority, event.agent) == (None, None)


@pytest.mark.parametrize(
    ("event_type", "status", "priority"),
    [
        ("incident.priority_updated", "triggered", "P1"),
        ("incident.priority_updated", "acknowledged", None),  # priority removed
        ("incident.reassigned", "triggered", "P2"),
        ("incident.escalated", "triggered", "P3"),
        ("incident.delegated", "triggered", None),
        ("incident.unacknowledged", "triggered", "P4"),
        ("incident.reopened", "triggered", "P5"),
        ("incident.status_update_published", "acknowledged", "P1"),
    ],
)
def test_other_incident_events_with_incident_data_are_normalized(
    event_type: str, status: str, priority: str | None
) -> None:
    data = pd_incident(status=status, priority=priority)
    data["assignees"] = [
        {"id": "PAM4FGS", "type": "user_reference", "summary": "Kim", "self": "x", "html_url": "y"}
    ]

    event = normalize_pagerduty("acme", pd_envelope(event_type, data))

    assert isinstance(event, IncidentEvent)
    facts = event.facts
    assert facts is not None
    assert (event.event_type, facts.status) == (event_type, status)
    assert facts.priority == (PdRef(id="PSO75BM", summary=priority) if priority else None)
    assert (event.incident_id, facts.number, facts.service) == (
        "PGR0VU2",
        2,
        PdRef(id="PF9KMXH", summary="API Service"),
    )
    # What rule conditions and templates read is carried, typed.
    assert facts.assignees == (PdRef(id="PAM4FGS", summary="Kim"),)
    assert facts.escalation_policy == PdRef(id="PUS0KTE", summary="Default")
    assert facts.created_at == "2020-04-09T15:16:27Z"
    assert event.agent is not None
    assert event.agent.summary == "Tenex Engineer"


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        pytest.param(
            {"id": "PLH1HKV", "type": "user_reference", "summary": "Tenex Engineer"},
            ("PLH1HKV", "user_reference", "Tenex Engineer"),
            id="user",
        ),
        pytest.param(
            {"id": "PQ0BZ7Q", "type": "service_reference", "summary": "API Service"},
            ("PQ0BZ7Q", "service_reference", "API Service"),
            id="service",
        ),
        pytest.param(
            {"id": "PLH1HKV", "type": "user_reference"},
            ("PLH1HKV", "user_reference", None),
            id="no-summary",
        ),
    ],
)
def test_agent_summary_is_who_acted(agent: Json, expected: tuple[Any, ...]) -> None:
    event = normalize_pagerduty(
        "acme", pd_envelope("incident.acknowledged", pd_incident(), agent=agent)
    )
    assert isinstance(event, IncidentEvent)
    assert event.agent == PdAgent(id=expected[0], type=expected[1], summary=expected[2])


def test_event_data_round_trips_through_the_contract_codec() -> None:
    event = normalize_pagerduty("acme", pd_envelope("incident.triggered", pd_incident()))
    assert isinstance(event, IncidentEvent)
    assert decode_event(encode(event)) == event


def test_annotated_carries_the_note_and_leaves_unknowns_none() -> None:
    event = normalize_pagerduty("acme", pd_annotated())

    assert isinstance(event, IncidentEvent)
    assert event.incident_id == "PGR0VU2"
    assert event.note == PdNote(id="P2LA89X", content="I sure am glad we are using PagerDuty!")
    assert event.is_note
    # An incident_note says nothing about status/number/service: not guessed.
    assert (event.facts, event.status) == (None, None)
    assert event.title == "A little bump in the road"
    assert event.agent is not None
    assert event.agent.summary == "Tenex Engineer"


@pytest.mark.parametrize(
    ("payload", "reason_has"),
    [
        pytest.param(pd_ping(), "'pagey.ping' is not an incident event", id="pagey.ping"),
        pytest.param(
            pd_envelope(
                "service.updated", {"id": "PF9KMXH", "type": "service"}, resource_type="service"
            ),
            "'service.updated' is not an incident event",
            id="service.updated",
        ),
        pytest.param(
            pd_envelope(
                "incident.responder.added",
                {"incident": {"id": "PGR0VU2"}, "type": "incident_responder", "state": "pending"},
            ),
            "data type 'incident_responder'",
            id="incident.responder.added",
        ),
        pytest.param(
            pd_envelope(
                "incident.conference_bridge.updated",
                {"incident": {"id": "PGR0VU2"}, "type": "incident_conference_bridge"},
            ),
            "is not synced",
            id="conference-bridge",
        ),
    ],
)
def test_events_we_do_not_sync_are_ignored_with_a_reason(payload: Json, reason_has: str) -> None:
    result = normalize_pagerduty("acme", payload)
    assert isinstance(result, Ignored)
    assert reason_has in result.reason


def _without(path: str) -> Callable[[Json], None]:
    *parents, last = path.split(".")

    def mutate(payload: Json) -> None:
        node = payload
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def _set(path: str, value: Any) -> Callable[[Json], None]:
    *parents, last = path.split(".")

    def mutate(payload: Json) -> None:
        node = payload
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "message_has"),
    [
        pytest.param(_without("event"), "`event` is missing", id="no-event"),
        pytest.param(_set("event", "x"), "`event` is a string, not an object", id="event-string"),
        pytest.param(_without("event.event_type"), "`event.event_type` is missing", id="no-type"),
        pytest.param(_without("event.id"), "`event.id` is missing", id="no-id"),
        pytest.param(_without("event.occurred_at"), "`event.occurred_at`", id="no-occurred-at"),
        pytest.param(_without("event.data"), "`event.data` is missing", id="no-data"),
        pytest.param(_without("event.data.type"), "`event.data.type`", id="no-data-type"),
        pytest.param(_without("event.data.id"), "`event.data.id` is missing", id="no-incident-id"),
        pytest.param(_without("event.data.status"), "`event.data.status`", id="no-status"),
        pytest.param(_set("event.data.status", "open"), "'open', not one of", id="bad-status"),
        pytest.param(_without("event.data.service"), "`event.data.service`", id="no-service"),
        pytest.param(_set("event.data.number", "2"), "`event.data.number` is a string", id="nan"),
        pytest.param(_set("event.data.title", ""), "`event.data.title`", id="empty-title"),
    ],
)
def test_malformed_pagerduty_envelope_names_the_field(
    mutate: Callable[[Json], None], message_has: str
) -> None:
    payload = copy.deepcopy(pd_envelope("incident.triggered", pd_incident()))
    mutate(payload)

    with pytest.raises(WebhookRejected) as caught:
        normalize_pagerduty("acme", payload)

    assert caught.value.status == 400
    assert message_has in caught.value.message
    assert "v3 webhook" in caught.value.message  # says what to check, not only what is wrong


def test_note_without_incident_reference_names_the_field() -> None:
    payload = pd_annotated()
    del payload["event"]["data"]["incident"]
    with pytest.raises(WebhookRejected, match=r"`event\.data\.incident` is missing"):
        normalize_pagerduty("acme", payload)


@pytest.mark.parametrize("payload", [[1, 2], "text", 3, None])
def test_json_that_is_not_an_object_is_rejected(payload: Any) -> None:
    with pytest.raises(WebhookRejected, match="not an object") as caught:
        normalize_pagerduty("acme", payload)
    assert caught.value.status == 400


def test_v2_webhook_is_refused_with_upgrade_hint() -> None:
    with pytest.raises(WebhookRejected, match="v2 webhook") as caught:
        normalize_pagerduty("acme", {"messages": [{"event": "incident.trigger"}]})
    assert caught.value.code == "unsupported_webhook_version"


def test_pagerduty_msg_id_is_account_scoped() -> None:
    assert pagerduty_msg_id("acme", "01ABC") == "pd:acme:01ABC"
    assert pagerduty_msg_id("acme", "01ABC") != pagerduty_msg_id("other", "01ABC")


# ----------------------------------------------------------------------------- Jira

EID = "jira:dc1:abc"


def test_issue_created() -> None:
    payload = jira_issue_created()
    event = normalize_jira("dc1", payload, event_id=EID)

    assert event == IssueEvent(
        event_id="jira:dc1:10100:created",
        correlation_id="jira:dc1:10100:created",
        instance="dc1",
        issue_id="10100",
        key="OPS-4",
        webhook_event="jira:issue_created",
        issue_event_type="issue_created",
        timestamp_ms=1565751753680,
        user=JiraUser(
            name="admin", key="JIRAUSER10100", email="admin@example.com", display_name="Test User"
        ),
        fields=read_issue_fields(payload["issue"]["fields"]),
    )
    assert isinstance(event, IssueEvent)
    assert (event.project_key, event.issue_type, event.status, event.summary) == (
        "OPS",
        "Task",
        "Open",
        "A little bump in the road",
    )
    assert event.fields.status_category == JiraRef(id="2", key="new", name="To Do")
    assert event.fields.priority == JiraRef(id="3", name="Major")
    assert event.fields.labels == ("pagerduty",)


def test_issue_updated_status_change_becomes_field_change() -> None:
    items: list[Json] = [
        {"field": "status", "fieldtype": "jira", "from": "1", "fromString": "Open",
         "to": "10001", "toString": "Done"},
        {"field": "resolution", "fieldtype": "jira", "from": None, "fromString": None,
         "to": "10000", "toString": "Done"},
        {"field": "numfield", "fieldtype": "custom", "from": None, "fromString": "445455561",
         "to": None, "toString": "44545556"},
    ]  # fmt: skip
    payload = jira_issue_updated(items, event_type_name="issue_resolved", status="Done")

    event = normalize_jira("dc1", payload, event_id=EID)

    assert isinstance(event, IssueEvent)
    assert event.status == "Done"
    assert event.fields.status_category == JiraRef(id="3", key="done", name="Done")
    assert event.issue_event_type == "issue_resolved"
    assert event.changed("status") == FieldChange(
        field="status", from_value="1", from_string="Open", to_value="10001", to_string="Done"
    )
    assert event.changed("resolution") == FieldChange(
        field="resolution", to_value="10000", to_string="Done"
    )
    assert event.changed("numfield") == FieldChange(
        field="numfield", from_string="445455561", to_string="44545556"
    )


@pytest.mark.parametrize(
    ("items", "changed", "expected"),
    [
        pytest.param(
            [{"field": "priority", "fieldtype": "jira", "from": "3", "fromString": "Major",
              "to": "1", "toString": "Blocker"}],
            "priority",
            FieldChange(field="priority", from_value="3", from_string="Major", to_value="1",
                        to_string="Blocker"),
            id="priority-only",
        ),
        pytest.param(
            [{"field": "labels", "fieldtype": "jira", "from": None, "fromString": "pagerduty",
              "to": None, "toString": "pagerduty sev1"}],
            "labels",
            FieldChange(field="labels", from_string="pagerduty", to_string="pagerduty sev1"),
            id="labels",
        ),
        pytest.param(
            [{"field": "assignee", "fieldtype": "jira", "from": None, "fromString": None,
              "to": "JIRAUSER10101", "toString": "Kim Doe"}],
            "assignee",
            FieldChange(field="assignee", to_value="JIRAUSER10101", to_string="Kim Doe"),
            id="assignee",
        ),
    ],
)  # fmt: skip
def test_field_only_update_keeps_its_changelog_item(
    items: list[Json], changed: str, expected: FieldChange
) -> None:
    payload = jira_issue_updated(items, event_type_name="issue_updated", status="Open")

    event = normalize_jira("dc1", payload, event_id=EID)

    assert isinstance(event, IssueEvent)
    assert event.webhook_event == "jira:issue_updated"
    assert event.issue_event_type == "issue_updated"
    assert event.changes == (expected,)
    assert event.changed(changed) == expected
    assert event.changed("status") is None


@pytest.mark.parametrize("webhook_event", ["jira:issue_created", "jira:issue_updated"])
def test_issue_fields_are_kept_whole(webhook_event: str) -> None:
    payload = jira_issue_created() if webhook_event.endswith("created") else jira_issue_updated()
    payload["issue"]["fields"]["customfield_10010"] = {"value": "sev1", "id": "10020"}
    payload["issue"]["fields"]["components"] = [{"id": "10000", "name": "API"}]
    payload["issue"]["fields"]["reporter"] = {"name": "kim", "key": "JIRAUSER10101"}

    event = normalize_jira("dc1", payload, event_id=EID)

    assert isinstance(event, IssueEvent)
    assert event.webhook_event == webhook_event
    assert event.fields.custom == {"customfield_10010": (FieldValue(names=("sev1", "10020")),)}
    assert event.fields.components == (JiraRef(id="10000", name="API"),)
    assert event.fields.reporter == JiraUser(name="kim", key="JIRAUSER10101")
    assert event.fields.description == "PagerDuty incident #2"
    assert event.fields.resolution is None  # carried, empty


def test_issue_commented_carries_the_comment() -> None:
    comment = {"id": "10082", "body": "looking into it", "author": {"name": "admin"}}
    payload = jira_issue_updated(event_type_name="issue_commented", comment=comment)

    event = normalize_jira("dc1", payload, event_id=EID)

    assert isinstance(event, IssueEvent)
    assert event.comment == JiraComment(id="10082", body="looking into it")
    assert event.is_comment
    assert event.changes == ()


def test_numeric_ids_and_missing_optional_parts_are_tolerated() -> None:
    payload = jira_issue_created()
    payload["issue"]["id"] = 10100
    del payload["user"]
    del payload["issue_event_type_name"]  # Jira 7-era payloads have none
    del payload["issue"]["fields"]["status"]["statusCategory"]
    payload["issue"]["fields"]["priority"] = None
    payload["issue"]["fields"]["labels"] = []

    event = normalize_jira("dc1", payload, event_id=EID)

    assert isinstance(event, IssueEvent)
    assert event.issue_id == "10100"
    assert (event.user, event.issue_event_type) == (None, None)
    assert isinstance(event.fields.status_category, UnsetType)  # not carried: not guessed
    assert (event.fields.priority, event.fields.labels) == (None, ())


@pytest.mark.parametrize(
    ("payload", "reason_has"),
    [
        pytest.param(jira_comment_created(), "'comment_created' is not synced", id="comment"),
        pytest.param(
            {**jira_issue_created(), "webhookEvent": "jira:issue_deleted"},
            "'jira:issue_deleted'",
            id="deleted",
        ),
        pytest.param(
            {"timestamp": 1, "webhookEvent": "jira:version_released", "version": {"id": "1"}},
            "'jira:version_released'",
            id="version",
        ),
    ],
)
def test_other_jira_events_are_ignored(payload: Json, reason_has: str) -> None:
    result = normalize_jira("dc1", payload, event_id=EID)
    assert isinstance(result, Ignored)
    assert reason_has in result.reason


@pytest.mark.parametrize(
    ("mutate", "message_has"),
    [
        pytest.param(_without("webhookEvent"), "`webhookEvent` is missing", id="no-event"),
        pytest.param(_without("timestamp"), "`timestamp` is missing", id="no-timestamp"),
        pytest.param(_without("issue"), "`issue` is missing", id="no-issue"),
        pytest.param(_without("issue.fields"), "`issue.fields` is missing", id="exclude-body"),
        pytest.param(_without("issue.key"), "`issue.key`", id="no-key"),
        pytest.param(_without("issue.fields.status"), "`issue.fields.status`", id="no-status"),
        pytest.param(_without("issue.fields.project"), "`issue.fields.project`", id="no-project"),
        pytest.param(_set("issue.fields.labels", "x"), "`issue.fields.labels` is a string", id="l"),
        pytest.param(_set("changelog", {"items": [1]}), "`changelog.items[0]`", id="bad-item"),
        pytest.param(
            _set("changelog", {"items": [{"to": "1"}]}), "`changelog.items[0].field`", id="no-field"
        ),
    ],
)
def test_malformed_jira_webhook_names_the_field(
    mutate: Callable[[Json], None], message_has: str
) -> None:
    payload = copy.deepcopy(jira_issue_updated())
    mutate(payload)

    with pytest.raises(WebhookRejected) as caught:
        normalize_jira("dc1", payload, event_id=EID)

    assert caught.value.status == 400
    assert message_has in caught.value.message
    assert "Jira issue webhook looks like" in caught.value.message


def test_jira_event_id_is_stable_per_body_and_instance() -> None:
    body = b'{"webhookEvent":"jira:issue_updated"}'
    assert jira_event_id("dc1", body) == jira_event_id("dc1", body)
    assert jira_event_id("dc1", body).startswith("jira:dc1:")
    assert jira_event_id("dc1", body) != jira_event_id("dc1", body + b" ")
    assert jira_event_id("dc1", body) != jira_event_id("dc2", body)


@pytest.mark.parametrize("event_type_name", ["issue_resolved", "issue_generic", "issue_updated"])
def test_a_transition_that_carried_a_comment_keeps_both_the_change_and_the_comment(
    event_type_name: str,
) -> None:
    """Jira Server sends ONE event for a transition (or edit) with a comment: the
    transition's event type, the changelog and the comment."""
    items: list[Json] = [
        {"field": "status", "fieldtype": "jira", "from": "1", "fromString": "Open",
         "to": "10001", "toString": "Done"},
    ]  # fmt: skip
    comment = {"id": "10090", "body": "Fixed by the rollback", "author": {"name": "kim"}}
    payload = jira_issue_updated(
        items, event_type_name=event_type_name, status="Done", comment=comment
    )

    event = normalize_jira("dc1", payload, event_id=EID)

    assert isinstance(event, IssueEvent)
    assert event.changed("status") is not None
    assert event.comment == JiraComment(id="10090", body="Fixed by the rollback")
    assert event.is_comment  # the comment is a new one, to be synced
    assert decode_event(encode(event)) == event


@pytest.mark.parametrize("event_type_name", ["issue_comment_edited", "issue_comment_deleted"])
def test_comment_edits_and_deletions_are_not_new_comments(event_type_name: str) -> None:
    comment = {"id": "10082", "body": "edited", "author": {"name": "admin"}}
    payload = jira_issue_updated(event_type_name=event_type_name, comment=comment)

    event = normalize_jira("dc1", payload, event_id=EID)

    assert isinstance(event, IssueEvent)
    assert event.comment is not None
    assert not event.is_comment
