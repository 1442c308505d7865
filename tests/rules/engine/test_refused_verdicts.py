"""A rule refused at load (the live catalogs refused it) is left out of every decision; the
audit record of an event it would have applied to says so instead of a silent "no rule
matched" (pure)."""

from __future__ import annotations

from pdjira_rules.audit import REFUSED, audit_record, refused_of, refused_verdicts
from pdjira_rules.rule_validation import Problem

from ..builders import compiled, incident_event, issue_event, simple_rule, status_change
from .test_simple_rules import decide

WHY = Problem(path="$.rules[0].on_resolve", message="status 'Doen' does not exist")


def test_a_refused_rule_in_scope_gets_a_verdict_saying_why() -> None:
    [typo] = compiled(simple_rule(name="typo"))
    event = incident_event()

    record = audit_record(event, decide(event, (), None), recorded_at="t", refused=[(typo, (WHY,))])

    [verdict] = record.verdicts
    assert (verdict.rule, verdict.matched, verdict.item) == ("typo", False, None)
    assert verdict.reason.startswith(
        f"{REFUSED}: $.rules[0].on_resolve: status 'Doen' does not exist"
    )
    assert record.summary == (
        "no rule in effect; 1 rule(s) refused at load would have applied: typo"
    )
    assert record.command_ids == ()


def test_beside_rules_in_effect_only_refused_rules_in_scope_are_named() -> None:
    [typo] = compiled(simple_rule(name="typo"))
    [there] = compiled(simple_rule(name="there", account="other"))
    event = incident_event(account="other")
    decision = decide(event, (simple_rule(name="ok", account="other"),), None)

    record = audit_record(
        event, decision, recorded_at="t", refused=[(typo, (WHY,)), (there, (WHY,))]
    )

    assert record.summary == (
        "1 command(s): CreateIssue; 1 rule(s) refused at load would have applied: there"
    )
    # "typo" is for account acme: not where it would have applied.
    assert [v.rule for v in record.verdicts if v.reason.startswith(REFUSED)] == ["there"]


def test_out_of_scope_refused_rules_stay_silent() -> None:
    [web] = compiled(simple_rule(name="web", services=("PWEB",)))
    [jira_other] = compiled(simple_rule(name="elsewhere", project="SEC"))
    assert refused_verdicts(incident_event(), [(web, (WHY,))]) == ()  # another service
    issue = issue_event(status_change("Done"))
    assert refused_verdicts(issue, [(jira_other, (WHY,))]) == ()  # another project
    [verdict] = refused_verdicts(issue, [(web, (WHY,))])  # issue events: its project
    assert verdict.rule == "web"


def test_refused_of_reads_only_sources_that_keep_refusals() -> None:
    class Plain:
        def current(self) -> tuple[()]:
            return ()

    class Checked(Plain):
        def refused_rules(self) -> list[tuple[object, tuple[Problem, ...]]]:
            return [("rule", (WHY,))]

    assert refused_of(Plain()) == ()
    assert refused_of(Checked()) == [("rule", (WHY,))]
