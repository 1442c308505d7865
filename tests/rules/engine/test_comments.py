"""sync_comments: notes <-> comments of linked pairs, once each, echoes not reflected."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.contracts import AddComment, AddNote, Event, Link, UpdateIncident
from pdjira_common.facts import PdAgent
from pdjira_rules.engine import ECHO, decide_rules
from pdjira_rules.engine.comments import comment_command_id, note_command_id

from ..builders import (
    comment_event,
    compiled,
    link,
    note_event,
    pd_rule,
    simple_rule,
    status_change,
    status_item,
    stored,
    verdicts_of,
)

SYNC = pd_rule(sync_comments=True)


def test_note_becomes_a_comment() -> None:
    decision = decide_rules(note_event(), [stored(SYNC)], link())
    assert decision.commands == (
        AddComment(
            command_id=note_command_id("acme", "PNOTE1"),
            correlation_id="ev-1",
            incident=link().incident,
            instance="dc1",
            note_id="PNOTE1",
            body="Looking into it",
            author_pd_user_id="PUSER1",
            author_name="Pat",
        ),
    )
    (verdict,) = decision.verdicts
    assert verdict.item == "sync_comments"
    assert verdict.reason == (
        "sync_comments is on: yes; incident linked to OPS-4: yes; note PNOTE1 -> comment on OPS-4"
    )


def test_note_by_an_integration_has_no_author() -> None:
    by_integration = PdAgent(id="PSVC9", type="service_reference", summary="API Service")
    decision = decide_rules(note_event(agent=by_integration), [stored(SYNC)], link())
    (command,) = decision.commands
    assert isinstance(command, AddComment)
    assert command.author_pd_user_id is None


def test_comment_becomes_a_note() -> None:
    decision = decide_rules(comment_event(), [stored(SYNC)], link())
    assert decision.commands == (
        AddNote(
            command_id=comment_command_id("dc1", "10500"),
            correlation_id="jira:dc1:abc",
            incident=link().incident,
            issue=link().issue,
            comment_id="10500",
            body="Restarted the primary",
            author_jira_user_key="JIRAUSER10100",
            author_jira_user_name="alice",
        ),
    )


@pytest.mark.parametrize(
    ("event", "the_link", "kwargs", "reason"),
    [
        (note_event(), link(), {"echoes": frozenset({"note"})}, f"{ECHO}: pdjira added this note"),
        (
            comment_event(),
            link(),
            {"echoes": frozenset({"comment"})},
            f"{ECHO}: pdjira added this comment",
        ),
        (
            note_event(),
            link(),
            {"synced_as": "10600"},
            "note PNOTE1 is already synced (comment 10600)",
        ),
        (
            comment_event(),
            link(),
            {"synced_as": "PN9"},
            "comment 10500 is already synced (note PN9)",
        ),
        (note_event(), None, {}, "incident PGR0VU2 is not linked to an issue; note not synced"),
        (comment_event(), None, {}, "issue OPS-4 is not linked to an incident; comment not synced"),
        (
            note_event(),
            link(instance="dc2"),
            {},
            "on instance 'dc2', not the rule's instance 'dc1'",
        ),
        (
            comment_event(),
            link(account="globex"),
            {},
            "incident of account 'globex', not the rule's account 'acme'",
        ),
    ],
)
def test_not_synced(
    event: Event, the_link: Link | None, kwargs: dict[str, Any], reason: str
) -> None:
    decision = decide_rules(event, [stored(SYNC)], the_link, **kwargs)
    assert decision.commands == ()
    (verdict,) = verdicts_of(decision, "sync_comments")
    assert not verdict.matched
    assert reason in verdict.reason


@pytest.mark.parametrize("event", [note_event(), comment_event()])
def test_once_across_rules(event: Event) -> None:
    rules = [
        stored(SYNC, rule_id="r1"),
        stored(pd_rule("second", sync_comments=True), rule_id="r2"),
    ]
    decision = decide_rules(event, rules, link())
    assert len(decision.commands) == 1
    assert (
        "rule 'ops' (sync_comments) already syncs it"
        in verdicts_of(decision, "sync_comments")[1].reason
    )


@pytest.mark.parametrize("event", [note_event(), comment_event()])
def test_once_across_a_simple_rule_and_a_pagerduty_style_rule(event: Event) -> None:
    rules = [*compiled(simple_rule(name="simple")), stored(SYNC, rule_id="r2")]
    decision = decide_rules(event, rules, link())
    assert len(decision.commands) == 1
    first, second = verdicts_of(decision, "sync_comments")
    assert (first.rule, first.matched, second.matched) == ("simple", True, False)
    assert "rule 'simple' (sync_comments) already syncs it" in second.reason


@pytest.mark.parametrize("event", [note_event(), comment_event()])
def test_sync_comments_off(event: Event) -> None:
    decision = decide_rules(event, [stored(pd_rule())], link())
    assert decision.commands == ()
    assert verdicts_of(decision, "sync_comments")[0].reason == "sync_comments is off"


def test_ids_are_keyed_by_the_note_or_comment() -> None:
    # Not by rule or event: a redelivered or re-sent note is the same command (deduplicated).
    (note,) = decide_rules(note_event(), [stored(SYNC)], link()).commands
    (comment,) = decide_rules(comment_event(), [stored(SYNC)], link()).commands
    assert note.command_id == "note:acme:PNOTE1"
    assert comment.command_id == "comment:dc1:10500"


def test_a_status_change_that_carried_a_comment_reacts_and_syncs_the_comment() -> None:
    """Jira Server's one event for a transition with a comment: the status reaction AND the
    note, each once."""
    rule = pd_rule(
        sync_comments=True,
        react_on_issue_status_change=True,
        react_on_issue_status_change_config=[
            status_item({"id": "10001", "label": "Done"}, actions={"pd_resolve": None})
        ],
    )
    event = comment_event(
        status_change("Done", to_id="10001"),
        issue_event_type="issue_resolved",
        body="Fixed by the rollback",
    )

    decision = decide_rules(event, [stored(rule)], link())

    notes = [c for c in decision.commands if isinstance(c, AddNote)]
    updates = [c for c in decision.commands if isinstance(c, UpdateIncident)]
    assert len(decision.commands) == 2
    assert [n.body for n in notes] == ["Fixed by the rollback"]
    assert notes[0].command_id == comment_command_id("dc1", "10500")
    assert [u.status for u in updates] == ["resolved"]
