"""``mapping.unlinked_users`` (pure): who acted, when mapping is asked, and what an unlinked
person's change turns into (nothing, with the reason in the audit) or not."""

from __future__ import annotations

import pytest
from pdjira_common.config import parse_config
from pdjira_common.contracts import AddNote, CreateIssue, IncidentRef, IssueRef, UpdateIncident
from pdjira_common.facts import JiraUser, PdAgent
from pdjira_common.requests import PdUser, UserLookup, UserReply
from pdjira_rules.actors import (
    UNLINKED_RULE,
    UnlinkedPolicy,
    actor_lookup,
    apply_unlinked_policy,
    unlinked_policy,
)
from pdjira_rules.audit import audit_record
from pdjira_rules.engine import Decision, decide_rules

from ..builders import comment_event, compiled, incident_event, issue_event, link, simple_rule

IGNORE = UnlinkedPolicy(mode="ignore", integration_logins=(("dc1", "pdjira"),))
APPLY = UnlinkedPolicy(mode="integration_user")
UNLINKED = UserReply(reason="not mapped (no PagerDuty user with e-mail a@x.io)")
LINKED = UserReply(pd_user=PdUser(id="P1", email="a@x.io"), source="email", reason="same e-mail")
FALLBACK = UserReply(pd_user=PdUser(id="PBOT"), source="fallback", reason="using the fallback")


def test_the_jira_actor_is_asked_with_key_login_and_the_links_pair() -> None:
    event = issue_event(user=JiraUser(name="alice", key="JIRAUSER10100", display_name="Alice"))
    assert actor_lookup(event, link(), IGNORE) == UserLookup(
        account="acme", instance="dc1", jira_user_key="JIRAUSER10100", jira_user_name="alice"
    )


def test_the_pagerduty_actor_is_a_user_reference_agent() -> None:
    assert actor_lookup(incident_event("incident.acknowledged"), link(), IGNORE) == UserLookup(
        account="acme", instance="dc1", pd_user_id="PLH1HKV"
    )
    service = PdAgent(id="PSVC", type="service_reference", summary="Checkout")
    assert actor_lookup(incident_event("incident.resolved", agent=service), link(), IGNORE) is None


@pytest.mark.parametrize(
    ("event", "the_link", "policy", "why"),
    [
        (issue_event(), link(), APPLY, "integration_user: nothing to ask"),
        (issue_event(), None, IGNORE, "not linked: no person's change to carry over"),
        (issue_event(user=None), link(), IGNORE, "nobody named"),
        (
            issue_event(user=JiraUser(name="pdjira", key="pdjira")),
            link(),
            IGNORE,
            "pdjira's own Jira login",
        ),
    ],
)
def test_no_lookup_when_the_policy_needs_none(
    event: object, the_link: object, policy: UnlinkedPolicy, why: str
) -> None:
    assert actor_lookup(event, the_link, policy) is None, why  # type: ignore[arg-type]


def _note_decision() -> tuple[object, Decision]:
    event = comment_event(user=JiraUser(name="jdoe", key="JIRAUSER10100", display_name="John Doe"))
    decision = decide_rules(event, compiled(simple_rule()), link())
    assert [type(c) for c in decision.commands] == [AddNote]
    return event, decision


def test_an_unlinked_persons_change_sends_nothing_and_says_why() -> None:
    event, decision = _note_decision()

    after = apply_unlinked_policy(event, decision, UNLINKED)  # type: ignore[arg-type]

    assert after.commands == ()
    verdict = after.verdicts[-1]
    assert verdict.rule == UNLINKED_RULE
    assert not verdict.matched
    assert verdict.reason.startswith(
        "ignored: Jira user 'John Doe' is not linked to a PagerDuty user (unlinked_users: ignore"
    )
    assert "not sent: AddNote" in verdict.reason
    assert "pdjira users self-link" in verdict.reason
    record = audit_record(event, after, recorded_at="t")  # type: ignore[arg-type]
    assert record.summary == (
        "ignored: Jira user 'John Doe' is not linked to a PagerDuty user (unlinked_users: ignore)"
    )
    assert record.command_ids == ()


@pytest.mark.parametrize("reply", [LINKED, FALLBACK, None], ids=["email", "fallback", "unasked"])
def test_a_linked_person_or_the_fallback_user_changes_nothing(reply: UserReply | None) -> None:
    event, decision = _note_decision()
    assert apply_unlinked_policy(event, decision, reply) == decision  # type: ignore[arg-type]


def test_creates_are_the_rules_own_act_and_are_kept() -> None:
    create = CreateIssue(
        command_id="c1",
        correlation_id="e1",
        incident=IncidentRef(account="acme", incident_id="P1"),
        instance="dc1",
        project="OPS",
        issue_type="Task",
        summary="s",
        description="d",
    )
    resolve = UpdateIncident(
        command_id="c2",
        correlation_id="e1",
        incident=IncidentRef(account="acme", incident_id="P1"),
        status="resolved",
        cause=IssueRef(instance="dc1", issue_id="1", key="OPS-1"),
    )
    event = comment_event()
    after = apply_unlinked_policy(event, Decision(commands=(create, resolve)), UNLINKED)
    assert after.commands == (create,)
    assert "not sent: UpdateIncident" in after.verdicts[-1].reason


def test_the_policy_comes_from_the_config_default_ignore() -> None:
    base = {
        "nats": {"url": "nats://x"},
        "pagerduty_accounts": [{"id": "acme", "token": "t-123456", "from_email": "b@x.io"}],
        "jira_instances": [
            {
                "id": "dc1",
                "base_url": "jira",
                "auth": {"type": "basic", "username": "pdjira", "password": "pw-123456"},
                "webhook_secret": "hook-1234",
            }
        ],
    }
    policy = unlinked_policy(parse_config(base))
    assert policy == UnlinkedPolicy(mode="ignore", integration_logins=(("dc1", "pdjira"),))
    chosen = parse_config({**base, "mapping": {"unlinked_users": "integration_user"}})
    assert unlinked_policy(chosen).mode == "integration_user"
