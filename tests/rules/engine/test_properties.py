"""decide_rules and jql_questions never raise, whatever the webhook carried (read into typed
facts as ingest reads it), against PagerDuty's example rules and compiled simple rules; every
rule always gets a verdict."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdjira_common.contracts import Event, FieldChange, IncidentEvent, IssueEvent, Link
from pdjira_common.facts import (
    JiraComment,
    JiraUser,
    PdAgent,
    PdNote,
    read_incident,
    read_issue_fields,
)
from pdjira_rules.engine import Decision, decide_rules, jql_questions
from pdjira_rules.rule_model import StoredRule

from rules.model.examples import example_rules

from ..builders import compiled, link, pd_rule, simple_rule, stored

MAPS: dict[str, Any] = {
    "priority_map": {"P1": "Highest", "P2": "High", "p3": "medium"},
    "urgency_map": {"Highest": "high", "Low": "low"},
    "field_templates": {"customfield_1": "{{incident.title}}", "labels": "a, {{incident.urgency}}"},
}
RULES: list[StoredRule] = [
    stored(rule, rule_id=f"ex{i}", **MAPS) for i, (_, rule) in enumerate(example_rules())
] + [
    stored(pd_rule("plain", sync_comments=True), rule_id="plain", **MAPS),
    *compiled(simple_rule(name="simple"), simple_rule(name="no create", create_on_trigger=False)),
]
JQLS = sorted({i.jql for r in RULES for i in r.wrapped.rule.config.autocreate_incidents_config})

text = st.text(max_size=12)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | text
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=12,
)
REF_KEYS = ("id", "summary", "name", "key", "value", "type")
refs = st.dictionaries(st.sampled_from(REF_KEYS), json_values | text, max_size=4)
loose = json_values | refs | st.lists(refs, max_size=3)
INCIDENT_KEYS = (
    "id",
    "number",
    "title",
    "status",
    "service",
    "priority",
    "assignees",
    "assignments",
    "urgency",
    "escalation_policy",
    "created_at",
    "acknowledgements",
    "incident_number",
    "description",
)
FIELD_KEYS = (
    "project",
    "issuetype",
    "status",
    "priority",
    "labels",
    "summary",
    "description",
    "components",
    "customfield_10010",
    "created",
    "assignee",
    "resolution",
)
maybe = st.none() | text
incident_types = st.sampled_from(
    [
        "incident.triggered",
        "incident.acknowledged",
        "incident.unacknowledged",
        "incident.resolved",
        "incident.escalated",
        "incident.reassigned",
        "incident.delegated",
        "incident.priority_updated",
        "incident.annotated",
        "incident.reopened",
    ]
)


service_refs = st.fixed_dictionaries(
    {"id": st.sampled_from(["PLW70S2", "PR5R1T1", "PSVC9", "PX"])}, optional={"summary": text}
)
priority_refs = st.fixed_dictionaries(
    {},
    optional={"id": st.sampled_from(["PSO75BM", "PX"]), "summary": st.sampled_from(["P1", "p3"])},
)
incident_data = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["triggered", "acknowledged", "resolved", "odd"]),
        "urgency": st.sampled_from(["high", "low", "odd"]) | loose,
        "service": service_refs | loose,
        "priority": priority_refs | loose,
        **{
            k: loose for k in INCIDENT_KEYS if k not in ("status", "urgency", "service", "priority")
        },
    },
)


@st.composite
def incident_events(draw: st.DrawFn) -> IncidentEvent:
    data = draw(st.none() | incident_data)
    return IncidentEvent(
        event_id=draw(text),
        correlation_id="c",
        account=draw(st.sampled_from(["acme", "globex"])),
        incident_id=draw(text),
        event_type=draw(incident_types),
        occurred_at=draw(text),
        title=draw(text),
        html_url=draw(text),
        agent=draw(
            st.none()
            | st.builds(
                PdAgent,
                id=maybe,
                type=st.sampled_from([None, "user_reference", "service_reference"]),
                summary=maybe,
            )
        ),
        facts=read_incident(data) if data is not None else None,
        note=draw(st.none() | st.builds(PdNote, id=text, content=text)),
    )


changes = st.builds(
    FieldChange,
    field=st.sampled_from(["status", "priority", "labels", "Priority"]),
    from_value=maybe,
    from_string=maybe,
    to_value=st.sampled_from([None, "3", "10001", "10000", "x"]),
    to_string=st.sampled_from([None, "", "Done", "In Progress", "To Do", "High", "Low", "Highest"]),
)


named = st.fixed_dictionaries(
    {},
    optional={
        "key": st.sampled_from(["PD", "HD", "OPS"]),
        "name": st.sampled_from(["Bug", "Task", "Done", "High"]),
        "id": text,
    },
)
issue_fields = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(FIELD_KEYS, loose),
        "project": named | loose,
        "issuetype": named | loose,
        "status": named | loose,
        "priority": named | loose,
    },
)


@st.composite
def issue_events(draw: st.DrawFn) -> IssueEvent:
    return IssueEvent(
        event_id=draw(text),
        correlation_id="c",
        instance=draw(st.sampled_from(["dc1", "dc2"])),
        issue_id=draw(text),
        key=draw(st.sampled_from(["PD-1", "HD-2", "OPS-4", "", "X"])),
        webhook_event=draw(
            st.sampled_from(["jira:issue_created", "jira:issue_updated", "jira:issue_deleted"])
        ),
        issue_event_type=draw(st.sampled_from([None, "issue_commented", "issue_generic"])),
        timestamp_ms=draw(st.integers(min_value=-(2**62), max_value=2**62)),
        fields=read_issue_fields(draw(json_values | issue_fields)),
        user=draw(st.none() | st.builds(JiraUser, name=maybe, key=maybe)),
        changes=tuple(draw(st.lists(changes, max_size=3))),
        comment=draw(st.none() | st.builds(JiraComment, id=text, body=text)),
    )


links = st.none() | st.builds(
    link,
    account=st.sampled_from(["acme", "globex"]),
    instance=st.sampled_from(["dc1", "dc2"]),
    key=st.sampled_from(["PD-1", "HD-2", "OPS-4"]),
)
echo_sets = st.frozensets(st.sampled_from(["status", "priority", "note", "comment"]))
answers = st.dictionaries(st.sampled_from(JQLS or ["x"]), st.booleans())


def _check(decision: Decision, event: Event) -> None:
    assert isinstance(decision, Decision)
    named = {v.rule for v in decision.verdicts}
    assert named == {r.name for r in RULES}
    ids = [c.command_id for c in decision.commands]
    assert len(ids) == len(set(ids))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    event=incident_events() | issue_events(),
    the_link=links,
    echoes=echo_sets,
    synced=maybe,
    jira=answers,
)
def test_never_raises(
    event: Event, the_link: Link | None, echoes: frozenset[str], synced: str | None, jira: Any
) -> None:
    asked = jql_questions(event, RULES, the_link)
    assert all(isinstance(q, str) for q in asked)
    decision = decide_rules(
        event, RULES, the_link, echoes=echoes, synced_as=synced, jira_answers=jira
    )
    _check(decision, event)
