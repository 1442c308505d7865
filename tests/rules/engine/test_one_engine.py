"""One engine decides every rule. A simple rule (``rules:``), its compiled PagerDuty-style form
written out as a ``pagerduty_rules`` entry, and what the simple set sent before it was compiled
(:mod:`.simple_set_spec`) decide the same on the same events: table-driven over every event
kind, then as a property over any rules and events."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

import msgspec
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pdjira_common.config import SyncRule
from pdjira_common.contracts import (
    Command,
    Event,
    FieldChange,
    Link,
    TransitionIssue,
    UpdateIncident,
)
from pdjira_common.facts import JiraComment, PdAgent, PdNote
from pdjira_rules.engine import Decision, decide_rules, needs_link
from pdjira_rules.rule_loading import load_config_rules
from pdjira_rules.rule_model import StoredRule
from pdjira_rules.simple_rules import compile_simple_rule

from ..builders import (
    ACCOUNTS,
    INSTANCES,
    comment_event,
    compiled,
    incident_data,
    incident_event,
    issue_event,
    issue_fields,
    link,
    note_event,
    priority_change,
    simple_rule,
    status_change,
)
from .simple_set_spec import spec_commands


@functools.cache
def both_forms(rules: tuple[SyncRule, ...]) -> tuple[tuple[StoredRule, ...], ...]:
    """The simple rules as the service loads them (compiled), and the compiled rules written
    out as YAML under ``pagerduty_rules`` and loaded from there, as an operator could have."""
    text = yaml.safe_dump({"pagerduty_rules": [compile_simple_rule(r) for r in rules]})
    written_out = load_config_rules(yaml.safe_load(text)["pagerduty_rules"], ACCOUNTS, INSTANCES)
    return compiled(*rules), written_out


def normalized(commands: Sequence[Command], event: Event) -> list[Command]:
    """Order-free, with transition/resolve ids cut to the event id they are keyed by (the
    simple set used "<event>:transition", the engine "<event>:<rule>:<item>:transition")."""
    out: list[Command] = []
    for command in commands:
        if isinstance(command, TransitionIssue | UpdateIncident):
            assert command.command_id.startswith(event.event_id + ":"), command.command_id
            command = msgspec.structs.replace(command, command_id=event.event_id)
        out.append(command)
    return sorted(out, key=lambda c: (type(c).__name__, c.command_id))


def check_one_engine(
    event: Event,
    rules: Sequence[SyncRule],
    the_link: Link | None,
    echoes: frozenset[str] = frozenset(),
    synced_as: str | None = None,
) -> Decision:
    kwargs: dict[str, Any] = {"echoes": echoes, "synced_as": synced_as}
    simple_form, written_form = both_forms(tuple(rules))
    simple = decide_rules(event, simple_form, the_link, **kwargs)
    written_out = decide_rules(event, written_form, the_link, **kwargs)
    assert simple == written_out  # same commands, same verdicts
    spec = spec_commands(event, rules, the_link, **kwargs)
    assert normalized(simple.commands, event) == normalized(spec, event)
    return simple


# ------------------------------------------------------------------------------ table

RES = "incident.resolved"
EVENTS: dict[str, Event] = {
    "triggered": incident_event(),
    "triggered-by-integration": incident_event(agent=PdAgent(type="service_reference")),
    "triggered-other-service": incident_event(
        data=incident_data(service={"id": "PWEB", "summary": "Web"})
    ),
    "acknowledged": incident_event("incident.acknowledged"),
    "resolved": incident_event(RES),
    "unacknowledged": incident_event("incident.unacknowledged"),
    "reopened": incident_event("incident.reopened"),
    "escalated": incident_event("incident.escalated"),
    "reassigned": incident_event("incident.reassigned"),
    "delegated": incident_event("incident.delegated"),
    "priority-updated": incident_event("incident.priority_updated"),
    "note": note_event(),
    "other-account": incident_event(RES, account="other"),
    "jira-created": issue_event(webhook_event="jira:issue_created"),
    "jira-updated": issue_event(),
    "jira-done": issue_event(status_change("Done")),
    "jira-DONE": issue_event(status_change("DONE")),
    "jira-in-progress": issue_event(status_change("In Progress")),
    "jira-priority": issue_event(priority_change("High")),
    "jira-comment": comment_event(),
    "jira-comment-and-done": comment_event(status_change("Done")),
    "jira-comment-edited": comment_event(issue_event_type="issue_comment_edited"),
    "jira-other-project": comment_event(
        status_change("Done"), fields=issue_fields(project={"key": "SEC"})
    ),
    "jira-bug": comment_event(
        status_change("Done"), fields=issue_fields(issuetype={"name": "Bug"})
    ),
    "jira-other-instance": issue_event(status_change("Done"), instance="dc2"),
    "jira-deleted": issue_event(webhook_event="jira:issue_deleted"),
}
RULE_SETS: dict[str, tuple[SyncRule, ...]] = {
    "one": (simple_rule(),),
    "no-create-no-ack": (simple_rule(create_on_trigger=False, on_acknowledge=None),),
    "nothing-on-jira": (simple_rule(resolve_when_status=(), on_resolve=None),),
    "services": (
        simple_rule(name="web", services=("PWEB",), project="WEB"),
        simple_rule(name="api", services=("PSVC9",), on_resolve="Closed"),
    ),
    "two-overlapping": (
        simple_rule(name="a", on_resolve=None, resolve_when_status=()),
        simple_rule(name="b", on_resolve="Closed", resolve_when_status=("Done", "Closed")),
    ),
    "other-instance-first": (
        simple_rule(name="dc2", instance="dc2"),
        simple_rule(name="dc1"),
    ),
}
LINKS = {
    "unlinked": None,
    "linked": link(),
    "linked-on-dc2": link(instance="dc2"),
    "linked-other-account": link(account="other"),
}
ECHOES = [frozenset(), frozenset({"status"}), frozenset({"note", "comment"})]


@pytest.mark.parametrize("rules", RULE_SETS.values(), ids=RULE_SETS.keys())
@pytest.mark.parametrize("event", EVENTS.values(), ids=EVENTS.keys())
def test_every_event_kind_decides_alike(event: Event, rules: tuple[SyncRule, ...]) -> None:
    for the_link, echoes, synced_as in itertools.product(LINKS.values(), ECHOES, (None, "10900")):
        check_one_engine(event, rules, the_link, echoes, synced_as)


def test_the_table_sends_every_kind_of_command() -> None:
    """The table is not vacuous: between them its cases send every command the set can."""
    sent = {
        type(c).__name__
        for event, rules, the_link in itertools.product(
            EVENTS.values(), RULE_SETS.values(), LINKS.values()
        )
        for c in check_one_engine(event, rules, the_link).commands
    }
    assert sent == {"CreateIssue", "TransitionIssue", "UpdateIncident", "AddComment", "AddNote"}


HAND_WRITTEN = """
pagerduty_rules:
  - account: acme
    instance: dc1
    resolution: Fixed
    resolution_events: [incident.resolve]   # acknowledging moves the issue, never resolves it
    all_services: true
    all_issue_types: true
    sync_priority: false
    rule:
      name: ops
      enabled: true
      config:
        sync_comments: true
        projects: [{key: OPS}]
        issue_types: [{label: Task}]
        autocreate_issues: true
        autocreate_issues_config:
          - condition: {pd_events: [incident.trigger]}
        react_on_incident_event: true
        react_on_incident_event_config:
          - condition: {pd_events: [incident.acknowledge]}
            actions: [{key: jira_change_status}]
            actions_params: {jira_change_status: {label: In Progress}}
          - condition: {pd_events: [incident.resolve]}
            actions: [{key: jira_change_status}]
            actions_params: {jira_change_status: {label: Done}}
        react_on_issue_status_change: true
        react_on_issue_status_change_config:
          - jira_statuses: [{label: Done}]
            actions: [{key: pd_resolve}]
"""


@pytest.mark.parametrize("event", EVENTS.values(), ids=EVENTS.keys())
def test_a_simple_rule_is_the_pagerduty_style_rule_written_by_hand(event: Event) -> None:
    """The README's equivalence: ``rules: [ops]`` is this ``pagerduty_rules`` entry."""
    by_hand = load_config_rules(
        yaml.safe_load(HAND_WRITTEN)["pagerduty_rules"], ACCOUNTS, INSTANCES
    )
    simple_form, _ = both_forms((simple_rule(),))
    for the_link in LINKS.values():
        simple = decide_rules(event, simple_form, the_link)
        assert decide_rules(event, by_hand, the_link) == simple


# ------------------------------------------------------------------------------ property

names = st.sampled_from(["a", "b", "c"])
statuses = st.sampled_from(["In Progress", "Done", "DONE", "Closed", "To Do"])
services = st.sampled_from(["PSVC9", "PWEB", "PX"])
simple_rules = st.builds(
    simple_rule,
    account=st.sampled_from(["acme", "other"]),
    instance=st.sampled_from(["dc1", "dc2"]),
    project=st.sampled_from(["OPS", "ops", "SEC"]),
    issue_type=st.sampled_from(["Task", "Bug"]),
    services=st.lists(services, max_size=2, unique=True).map(tuple),
    create_on_trigger=st.booleans(),
    on_acknowledge=st.none() | statuses,
    on_resolve=st.none() | statuses,
    resolution=st.none() | st.sampled_from(["Fixed", "Done"]),
    resolve_when_status=st.lists(statuses, max_size=2, unique=True).map(tuple),
)
rule_sets = st.lists(simple_rules, min_size=1, max_size=3).flatmap(
    lambda rules: st.permutations(["a", "b", "c"]).map(
        lambda order: tuple(
            msgspec.structs.replace(r, name=n) for r, n in zip(rules, order, strict=False)
        )
    )
)
incident_types = st.sampled_from(
    [
        "incident.triggered",
        "incident.acknowledged",
        "incident.resolved",
        "incident.unacknowledged",
        "incident.reopened",
        "incident.escalated",
        "incident.priority_updated",
        "incident.annotated",
    ]
)


@st.composite
def incident_events(draw: st.DrawFn) -> Event:
    kind = draw(incident_types)
    account = draw(st.sampled_from(["acme", "other"]))
    agent = draw(st.none() | st.builds(PdAgent, id=st.just("PU1"), type=st.sampled_from(
        ["user_reference", "service_reference"]
    )))  # fmt: skip
    if kind == "incident.annotated":
        note = draw(st.none() | st.builds(PdNote, id=st.just("PN1"), content=st.text(max_size=5)))
        return incident_event(kind, data=None, note=note, account=account, agent=agent)
    data = incident_data(
        service={"id": draw(services), "summary": "S"},
        priority=draw(st.none() | st.just({"id": "PP1", "summary": "P1"})),
        urgency=draw(st.sampled_from(["high", "low"])),
    )
    title = draw(st.sampled_from(["A little bump", "  ", "x" * 300]))
    return incident_event(kind, data=data, account=account, agent=agent, title=title)


@st.composite
def issue_events(draw: st.DrawFn) -> Event:
    changes: list[FieldChange] = []
    if draw(st.booleans()):
        changes.append(status_change(draw(statuses)))
    if draw(st.booleans()):
        changes.append(priority_change("High"))
    fields = issue_fields(
        project={"key": draw(st.sampled_from(["OPS", "SEC"])), "name": "Operations"},
        issuetype={"name": draw(st.sampled_from(["Task", "Bug"]))},
    )
    comment = draw(st.none() | st.just(JiraComment(id="10500", body="hi")))
    return issue_event(
        *changes,
        fields=fields,
        instance=draw(st.sampled_from(["dc1", "dc2"])),
        webhook_event=draw(st.sampled_from(["jira:issue_updated", "jira:issue_created"])),
        issue_event_type=draw(st.sampled_from(["issue_generic", "issue_commented"])),
        comment=comment,
        timestamp_ms=draw(st.sampled_from([0, 1565751753680])),
    )


links = st.none() | st.builds(
    link, account=st.sampled_from(["acme", "other"]), instance=st.sampled_from(["dc1", "dc2"])
)
echo_sets = st.frozensets(st.sampled_from(["status", "note", "comment", "priority"]))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=rule_sets,
    event=incident_events() | issue_events(),
    the_link=links,
    echoes=echo_sets,
    synced_as=st.none() | st.just("10900"),
)
def test_simple_rules_decide_alike_whatever_the_rules_and_events(
    rules: tuple[SyncRule, ...],
    event: Event,
    the_link: Link | None,
    echoes: frozenset[str],
    synced_as: str | None,
) -> None:
    decision = check_one_engine(event, rules, the_link, echoes, synced_as)
    # The handler asks mapping for the link only when some rule could need it: when it does
    # not, the link (whatever it is) changes nothing.
    if not needs_link(event, compiled(*rules)):
        unlinked = decide_rules(event, compiled(*rules), None, echoes=echoes, synced_as=synced_as)
        assert unlinked.commands == decision.commands == ()
