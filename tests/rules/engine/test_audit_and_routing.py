"""Audit records and command subjects (pure)."""

from __future__ import annotations

import msgspec
from pdjira_common.contracts import decode_audit, encode
from pdjira_rules.audit import audit_msg_id, audit_record
from pdjira_rules.routing import command_subject

from ..builders import incident_event, issue_event, link, status_change
from .test_simple_rules import decide, rule


def test_audit_record_lists_every_rule_and_the_commands() -> None:
    event = incident_event()
    decision = decide(event, (rule(name="web", services=("PWEB",)), rule(name="all")), None)

    record = audit_record(event, decision, recorded_at="2020-10-02T18:45:23Z")

    assert record.correlation_id == "ev-1"
    assert record.entity == "pd:acme:PGR0VU2"
    assert record.event_type == "incident.triggered"
    assert record.command_ids == ("create:acme:PGR0VU2",)
    assert [(v.rule, v.matched) for v in record.verdicts if v.item is None or v.matched] == [
        ("web", False),  # out of scope: one verdict for the whole rule
        ("all", True),
    ]
    assert {v.rule for v in record.verdicts} == {"web", "all"}
    assert record.summary == "1 command(s): CreateIssue"
    assert decode_audit(encode(record)) == record


def test_audit_summary_when_nothing_matched_or_no_rules() -> None:
    event = incident_event(account="other")
    assert audit_record(event, decide(event, (rule(),), None), recorded_at="t").summary == (
        "no rule matched"
    )
    assert audit_record(event, decide(event, (), None), recorded_at="t").summary == (
        "no rules configured"
    )


def test_audit_msg_id_same_decision_same_id_other_decision_other_id() -> None:
    event = incident_event()
    first = audit_record(event, decide(event, (rule(),), None), recorded_at="t1")
    redelivered = audit_record(event, decide(event, (rule(),), None), recorded_at="t2")
    after_link = audit_record(event, decide(event, (rule(),), link()), recorded_at="t3")

    assert audit_msg_id(first) == audit_msg_id(redelivered)
    assert audit_msg_id(first) != audit_msg_id(after_link)
    assert audit_msg_id(first).startswith("audit:rules:ev-1:")
    assert msgspec.structs.replace(first, recorded_at="t2") == redelivered


def test_commands_about_one_incident_share_a_subject() -> None:
    [create] = decide(incident_event(), (rule(),), None).commands
    [move] = decide(incident_event("incident.acknowledged"), (rule(),), link()).commands
    [resolve] = decide(issue_event(status_change("Done")), (rule(),), link()).commands

    assert command_subject(create) == command_subject(move) == "commands.jira.dc1.PGR0VU2"
    assert command_subject(resolve) == "commands.pd.acme.PGR0VU2"


def test_audit_summary_says_when_the_event_came_from_reconciliation() -> None:
    webhook = incident_event()
    synthetic = incident_event(origin="reconcile")
    decided = decide(synthetic, (rule(),), None)

    record = audit_record(synthetic, decided, recorded_at="t")

    assert decided == decide(webhook, (rule(),), None)  # decided exactly alike
    assert record.summary == "from reconciliation: 1 command(s): CreateIssue"
    assert audit_record(webhook, decided, recorded_at="t").summary == "1 command(s): CreateIssue"
    nothing = issue_event(origin="reconcile", instance="dc2")
    summary = audit_record(nothing, decide(nothing, (rule(),), None), recorded_at="t").summary
    assert summary == "from reconciliation: no rule matched"
