"""react_on_issue_status_change: a linked issue's new status acts on its incident."""

from __future__ import annotations

from typing import Any

import pytest
from pdjira_common.contracts import RuleVerdict, UpdateIncident, UpdateIncidentFields
from pdjira_rules.engine import ECHO, Decision, decide_rules

from ..builders import issue_event, link, pd_rule, status_change, status_item, stored, verdicts_of

DONE = {"id": "10001", "label": "Done"}
PROGRESS = {"id": "3", "label": "In Progress"}
RESOLVE = status_item(DONE, actions={"pd_resolve": None})


def _rule(*items: dict[str, Any], name: str = "ops") -> dict[str, Any]:
    return pd_rule(
        name, react_on_issue_status_change=True, react_on_issue_status_change_config=list(items)
    )


def _status(decision: Decision) -> list[RuleVerdict]:
    return verdicts_of(decision, "react_on_issue_status_change")


@pytest.mark.parametrize(
    ("change", "item", "status"),
    [
        (status_change("Done", to_id="10001"), RESOLVE, "resolved"),
        (status_change("done", to_id="77"), RESOLVE, "resolved"),  # label, any case
        (status_change("Closed", to_id="10001"), RESOLVE, "resolved"),  # renamed: the id
        (
            status_change("In Progress", to_id="3"),
            status_item(PROGRESS, actions={"pd_acknowledge": None}),
            "acknowledged",
        ),
        (  # reopen: PagerDuty reopens a resolved incident set to "triggered"
            status_change("To Do", to_id="10000"),
            status_item({"label": "To Do"}, actions={"pd_reopen": None}),
            "triggered",
        ),
        (  # several statuses in one item: resolve > acknowledge > reopen
            status_change("Done", to_id="10001"),
            status_item(DONE, actions={"pd_reopen": None, "pd_resolve": None}),
            "resolved",
        ),
        (
            status_change("In Progress", to_id="3"),
            status_item(PROGRESS, actions={"pd_reopen": None, "pd_acknowledge": None}),
            "acknowledged",
        ),
    ],
)
def test_status_acts_on_the_incident(change: Any, item: dict[str, Any], status: str) -> None:
    decision = decide_rules(issue_event(change), [stored(_rule(item))], link())
    (command,) = decision.commands
    assert command == UpdateIncident(
        command_id="jira:dc1:abc:r1:react_on_issue_status_change_config[0]:status",
        correlation_id="jira:dc1:abc",
        incident=link().incident,
        status=status,  # type: ignore[arg-type]
        cause=link().issue,
        actor_user_key="JIRAUSER10100",
        caused_at="2019-08-14T03:02:33.680000+00:00",
    )


def test_priority_and_responders() -> None:
    item = status_item(
        {"label": "To Do"},
        actions={
            "pd_set_priority": {"id": "PZQ39X0", "label": "P1"},
            "pd_add_responders": [
                {"id": "PU1", "email": "a@example.com"},
                {"email": "nobody@example.com"},
                {"id": "PU2"},
            ],
        },
    )
    decision = decide_rules(issue_event(status_change("To Do")), [stored(_rule(item))], link())
    (command,) = decision.commands
    assert isinstance(command, UpdateIncidentFields)
    assert command.command_id.endswith(":fields")
    assert command.priority == "P1"
    assert command.add_responders == ("PU1", "PU2")
    assert command.cause == link().issue
    assert (
        "pd_add_responders [PU1, PU2] (1 without a user id left out)" in _status(decision)[0].reason
    )


def test_priority_by_id_only() -> None:
    item = status_item(DONE, actions={"pd_set_priority": {"id": "PZQ39X0"}})
    decision = decide_rules(issue_event(status_change("Done")), [stored(_rule(item))], link())
    (command,) = decision.commands
    assert isinstance(command, UpdateIncidentFields)
    assert command.priority == "PZQ39X0"


def test_other_status_does_nothing_and_says_so() -> None:
    decision = decide_rules(issue_event(status_change("Review")), [stored(_rule(RESOLVE))], link())
    assert decision.commands == ()
    assert _status(decision)[0].reason == "status Review not in [Done]: no"


def test_echo_is_not_reflected() -> None:
    decision = decide_rules(
        issue_event(status_change("Done")),
        [stored(_rule(RESOLVE))],
        link(),
        echoes=frozenset({"status"}),
    )
    assert decision.commands == ()
    assert _status(decision)[0].reason.startswith(f"{ECHO}: pdjira moved OPS-4 to 'Done'")


def test_unlinked_issue() -> None:
    decision = decide_rules(issue_event(status_change("Done")), [stored(_rule(RESOLVE))], None)
    assert decision.commands == ()
    assert _status(decision)[0].reason.endswith("issue OPS-4 is not linked to an incident")


def test_incident_of_another_account() -> None:
    decision = decide_rules(
        issue_event(status_change("Done")), [stored(_rule(RESOLVE))], link(account="globex")
    )
    assert decision.commands == ()
    assert (
        "incident of account 'globex', not the rule's account 'acme'" in _status(decision)[0].reason
    )


def test_first_status_write_wins_but_fields_still_apply() -> None:
    ack = status_item(DONE, actions={"pd_acknowledge": None, "pd_set_priority": {"label": "P2"}})
    first = stored(_rule(RESOLVE, name="first"), rule_id="r1")
    second = stored(_rule(ack, name="second"), rule_id="r2")
    decision = decide_rules(issue_event(status_change("Done")), [first, second], link())
    resolve, fields = decision.commands
    assert isinstance(resolve, UpdateIncident)
    assert resolve.status == "resolved"
    assert isinstance(fields, UpdateIncidentFields)
    assert "rule 'first' (react_on_issue_status_change_config[0]) already changes the status" in (
        _status(decision)[1].reason
    )


def test_jira_actions_do_not_apply_here() -> None:
    item = status_item(DONE, actions={"jira_change_status": {"label": "Done"}})
    decision = decide_rules(issue_event(status_change("Done")), [stored(_rule(item))], link())
    assert decision.commands == ()
    assert _status(decision)[0].reason.endswith("no PagerDuty action to apply")


def test_no_status_change_no_section() -> None:
    decision = decide_rules(issue_event(), [stored(_rule(RESOLVE))], link())
    assert _status(decision) == []
