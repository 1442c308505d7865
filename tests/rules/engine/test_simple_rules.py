"""The simple rule set, decided by the one engine (compiled into PagerDuty-style rules):
every branch, table-driven, with the commands sent and what each rule's verdicts say."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
import pytest
from pdjira_common.config import SyncRule
from pdjira_common.contracts import (
    Command,
    CreateIssue,
    Event,
    IncidentRef,
    IssueRef,
    Link,
    TransitionIssue,
    UpdateIncident,
)
from pdjira_common.facts import JiraComment
from pdjira_rules.engine import Decision, decide_rules, needs_link
from pdjira_rules.engine.create_issue import JIRA_SUMMARY_MAX

from ..builders import (
    compiled,
    incident_event,
    issue_event,
    issue_fields,
    link,
    simple_rule,
    status_change,
)

INCIDENT = IncidentRef(account="acme", incident_id="PGR0VU2")
rule = simple_rule


def decide(
    event: Event,
    rules: tuple[SyncRule, ...],
    the_link: Link | None,
    *,
    echoes: frozenset[str] = frozenset(),
    synced_as: str | None = None,
) -> Decision:
    """The simple rules decided as the service decides them: compiled, by the engine."""
    return decide_rules(event, compiled(*rules), the_link, echoes=echoes, synced_as=synced_as)


def check_verdicts(decision: Decision, expected: tuple[tuple[str, bool, str], ...]) -> None:
    """Each rule, in order, acted (one of its verdicts matched) or not, and one of its
    verdicts says ``phrase``."""
    order = list(dict.fromkeys(v.rule for v in decision.verdicts))
    assert order == [name for name, _, _ in expected]
    for name, matched, phrase in expected:
        mine = [v for v in decision.verdicts if v.rule == name]
        assert any(v.matched for v in mine) is matched, mine
        assert any(phrase in v.reason for v in mine), [v.reason for v in mine]


@dataclass(frozen=True)
class Case:
    event: Event
    rules: tuple[SyncRule, ...]
    link: Link | None
    # (rule name, matched, a phrase its reason must contain), in rule order
    verdicts: tuple[tuple[str, bool, str], ...]
    commands: tuple[Command, ...] = field(default=())


def create(**overrides: object) -> CreateIssue:
    fields: dict[str, object] = {
        "command_id": "create:acme:PGR0VU2",
        "correlation_id": "ev-1",
        "incident": INCIDENT,
        "instance": "dc1",
        "project": "OPS",
        "issue_type": "Task",
        "summary": "A little bump in the road",
        "description": (
            "PagerDuty incident #2: A little bump in the road\n"
            "Service: API Service (PSVC9)\n"
            "Urgency: high\n"
            "Priority: P1\n"
            "Incident: https://acme.pagerduty.com/incidents/PGR0VU2"
        ),
        "labels": ("pagerduty",),
    }
    return CreateIssue(**{**fields, **overrides})  # type: ignore[arg-type]


def transition(
    target: str, resolution: str | None = None, *, rule_id: str = "cfg-ops", item: int = 0
) -> TransitionIssue:
    """A compiled rule's react_on_incident_event item ``item`` (on_acknowledge first)."""
    return TransitionIssue(
        command_id=f"ev-1:{rule_id}:react_on_incident_event_config[{item}]:transition",
        correlation_id="ev-1",
        incident=INCIDENT,
        instance="dc1",
        target_status=target,
        resolution=resolution,
        caused_at="2020-10-02T18:45:22.169Z",  # the event's occurred_at
    )


RESOLVE = UpdateIncident(
    command_id="jira:dc1:abc:cfg-ops:react_on_issue_status_change_config[0]:status",
    correlation_id="jira:dc1:abc",
    incident=INCIDENT,
    status="resolved",
    cause=IssueRef(instance="dc1", issue_id="10100", key="OPS-4"),
    actor_user_key="JIRAUSER10100",
    caused_at="2019-08-14T03:02:33.680000+00:00",  # the webhook's timestamp (ms) as ISO
)


def resolve_by(rule_id: str) -> UpdateIncident:
    command_id = f"jira:dc1:abc:{rule_id}:react_on_issue_status_change_config[0]:status"
    return msgspec.structs.replace(RESOLVE, command_id=command_id)


ACK = "incident.acknowledged"
RES = "incident.resolved"

CASES = {
    # ------------------------------------------------------------------ incident.triggered
    "triggered-creates": Case(
        incident_event(), (rule(),), None, (("ops", True, "create Task in dc1/OPS"),), (create(),)
    ),
    "triggered-other-account": Case(
        incident_event(account="other"), (rule(),), None,
        (("ops", False, "account 'other' is not the rule's account 'acme'"),),
    ),
    "triggered-service-not-in-rule": Case(
        incident_event(), (rule(services=("PAPI", "PWEB")),), None,
        (("ops", False, "(PSVC9) not in rule services [PAPI, PWEB]"),),
    ),
    "triggered-service-in-rule": Case(
        incident_event(), (rule(services=("PAPI", "PSVC9")),), None,
        (("ops", True, "create"),), (create(),),
    ),
    "triggered-already-linked": Case(
        incident_event(), (rule(),), link(), (("ops", False, "already linked to OPS-4"),)
    ),
    "triggered-create-off": Case(
        incident_event(), (rule(create_on_trigger=False),), None,
        (("ops", False, "autocreate_issues is off"),),
    ),
    "triggered-two-rules-one-issue": Case(
        incident_event(), (rule(name="first"), rule(name="second", project="SEC")), None,
        (
            ("first", True, "create"),
            ("second", False, "rule 'first' (autocreate_issues_config[0]) already creates"),
        ),
        (create(),),
    ),
    "triggered-service-picks-second-rule": Case(
        incident_event(),
        (rule(name="web", services=("PWEB",)), rule(name="api", services=("PSVC9",), project="AP")),
        None,
        (("web", False, "(PSVC9) not in rule services"), ("api", True, "dc1/AP")),
        (create(project="AP"),),
    ),
    "no-rules": Case(incident_event(), (), None, ()),
    # ------------------------------------------------------------------ acknowledged / resolved
    "ack-linked": Case(
        incident_event(ACK), (rule(),), link(),
        (("ops", True, "move OPS-4 to 'In Progress'"),),
        (transition("In Progress"),),
    ),
    "ack-not-linked-create-in-flight": Case(
        incident_event(ACK), (rule(),), None,
        (("ops", True, "not linked yet"),), (transition("In Progress"),),
    ),
    "ack-not-linked-no-create": Case(
        incident_event(ACK), (rule(create_on_trigger=False),), None,
        (("ops", False, "incident not linked (and this rule does not create issues)"),),
    ),
    "ack-not-configured": Case(
        incident_event(ACK), (rule(on_acknowledge=None),), link(),
        (("ops", False, "event incident.acknowledge not in [incident.resolve]"),),
    ),
    "ack-service-filtered": Case(
        incident_event(ACK), (rule(services=("PWEB",)),), link(),
        (("ops", False, "(PSVC9) not in rule services [PWEB]"),),
    ),
    "resolve-linked-with-resolution": Case(
        incident_event(RES), (rule(),), link(),
        (("ops", True, "move OPS-4 to 'Done'"),), (transition("Done", "Fixed", item=1),),
    ),
    "resolve-linked-to-other-instance": Case(
        incident_event(RES), (rule(),), link(instance="dc2"),
        (("ops", False, "OPS-4 is on instance 'dc2', not the rule's instance 'dc1'"),),
    ),
    "resolve-two-rules-one-transition": Case(
        incident_event(RES), (rule(name="a"), rule(name="b", on_resolve="Closed")), link(),
        (
            ("a", True, "'Done'"),
            ("b", False, "rule 'a' (react_on_incident_event_config[1]) already changes the status"),
        ),
        (transition("Done", "Fixed", rule_id="cfg-a", item=1),),
    ),
    "resolve-first-rule-unconfigured-second-acts": Case(
        incident_event(RES), (rule(name="a", on_resolve=None), rule(name="b", on_resolve="Closed")),
        link(),
        (
            ("a", False, "event incident.resolve not in [incident.acknowledge]"),
            ("b", True, "'Closed'"),
        ),
        (transition("Closed", "Fixed", rule_id="cfg-b", item=1),),
    ),
    # ------------------------------------------------------------------ other incident events
    "reopened-not-yet": Case(
        incident_event("incident.reopened"), (rule(),), link(),
        (("ops", False, "incident.reopened: nothing in this event concerns this rule"),),
    ),
    "unacknowledged-not-yet": Case(
        incident_event("incident.unacknowledged"), (rule(),), link(),
        (("ops", False, "event incident.unacknowledge not in [incident.acknowledge]"),),
    ),
    "annotated-not-synced": Case(
        incident_event("incident.annotated", data=None),  # a note event without its note
        (rule(),), None, (("ops", False, "incident.annotated: nothing in this event concerns"),),
    ),
    # ------------------------------------------------------------------ Jira status changes
    "jira-done-resolves": Case(
        issue_event(status_change("Done")), (rule(),), link(),
        (("ops", True, "status Done in [Done]: yes"),), (RESOLVE,),
    ),
    "jira-status-name-case-insensitive": Case(
        issue_event(status_change("DONE")), (rule(),), link(),
        (("ops", True, "set incident PGR0VU2 resolved"),),
        (RESOLVE,),
    ),
    "jira-one-of-several-statuses": Case(
        issue_event(status_change("Closed")), (rule(resolve_when_status=("Done", "Closed")),),
        link(), (("ops", True, "status Closed in [Done, Closed]: yes"),), (RESOLVE,),
    ),
    "jira-status-not-resolving": Case(
        issue_event(status_change("In Progress")), (rule(),), link(),
        (("ops", False, "status In Progress not in [Done]"),),
    ),
    "jira-not-linked": Case(
        issue_event(status_change("Done")), (rule(),), None,
        (("ops", False, "issue OPS-4 is not linked to an incident"),),
    ),
    "jira-no-status-change": Case(
        issue_event(comment=JiraComment(id="10082", body="hi")), (rule(),), link(),
        # not a new comment (issue_generic), and no status change: only the off section
        (("ops", False, "autocreate_incidents is off"),),
    ),
    "jira-other-instance": Case(
        issue_event(status_change("Done"), instance="dc2"), (rule(),), link(),
        (("ops", False, "instance 'dc2' is not the rule's instance 'dc1'"),),
    ),
    "jira-other-project": Case(
        issue_event(status_change("Done"), fields=issue_fields(project={"key": "SEC"})),
        (rule(),), link(), (("ops", False, "project SEC not in rule projects [OPS]"),),
    ),
    "jira-no-resolve-statuses": Case(
        issue_event(status_change("Done")), (rule(resolve_when_status=()),), link(),
        (("ops", False, "react_on_issue_status_change is off"),),
    ),
    "jira-linked-to-other-account": Case(
        issue_event(status_change("Done")), (rule(),), link(account="other"),
        (("ops", False, "incident of account 'other', not the rule's account 'acme'"),),
    ),
    "jira-two-rules-one-resolve": Case(
        issue_event(status_change("Done")), (rule(name="a"), rule(name="b")), link(),
        (
            ("a", True, "set incident PGR0VU2 resolved"),
            ("b", False, "rule 'a' (react_on_issue_status_change_config[0]) already changes"),
        ),
        (resolve_by("cfg-a"),),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_decision(case: Case) -> None:
    decision = decide(case.event, case.rules, case.link)

    assert decision.commands == case.commands
    check_verdicts(decision, case.verdicts)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_redelivered_event_yields_the_same_command_ids(case: Case) -> None:
    once = decide(case.event, case.rules, case.link)
    again = decide(case.event, case.rules, case.link)
    assert once == again


def test_create_is_keyed_by_incident_not_event() -> None:
    one = decide(incident_event(event_id="ev-1"), (rule(),), None)
    two = decide(incident_event(event_id="ev-2"), (rule(),), None)
    assert one.commands[0].command_id == two.commands[0].command_id == "create:acme:PGR0VU2"


def test_summary_is_one_line_within_jira_limit() -> None:
    title = "disk full\non   host-1 " + "x" * 400
    [command] = decide(incident_event(title=title), (rule(),), None).commands
    assert isinstance(command, CreateIssue)
    assert len(command.summary) == JIRA_SUMMARY_MAX
    assert command.summary.startswith("disk full on host-1 x")
    assert command.summary.endswith("...")


def test_empty_title_falls_back_to_incident_number() -> None:
    [command] = decide(incident_event(title="  "), (rule(),), None).commands
    assert isinstance(command, CreateIssue)
    assert command.summary == "PagerDuty incident #2"


@pytest.mark.parametrize(
    ("event", "rules", "expected"),
    [
        pytest.param(incident_event(), (rule(),), True, id="triggered"),
        pytest.param(incident_event(ACK), (rule(),), True, id="acknowledged"),
        pytest.param(incident_event(account="x"), (rule(),), False, id="no-rule-for-account"),
        pytest.param(incident_event("incident.annotated"), (rule(),), False, id="annotated"),
        pytest.param(incident_event("incident.reopened"), (rule(),), False, id="reopened"),
        pytest.param(issue_event(status_change("Done")), (rule(),), True, id="status-change"),
        pytest.param(issue_event(), (rule(),), False, id="no-status-change"),
        pytest.param(
            issue_event(status_change("Done")), (rule(resolve_when_status=()),), False, id="no-rs"
        ),
        pytest.param(issue_event(status_change("Done"), instance="x"), (rule(),), False, id="inst"),
    ],
)
def test_needs_link(event: Event, rules: tuple[SyncRule, ...], expected: bool) -> None:
    assert needs_link(event, compiled(*rules)) is expected


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_skipped_lookup_never_shows_as_not_linked(case: Case) -> None:
    # The handler only asks mapping when needs_link(); otherwise decide gets link=None, which
    # must then never be the reason a rule was skipped.
    if needs_link(case.event, compiled(*case.rules)):
        return
    decision = decide(case.event, case.rules, None)
    assert not any("not linked" in v.reason for v in decision.verdicts)
    assert decision.commands == ()
